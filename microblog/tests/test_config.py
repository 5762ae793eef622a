"""A malformed or missing setting stops start-up with one line naming it (microblog/config.py)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

MALFORMED = {
    "DATABASE_URL": "not a url",
    "DEBUG": "maybe",
    "EMAIL_PORT": "abc",
    "REDIS_URL": "ftp://x",
    "EMAIL_USE_TLS": "sometimes",
    "REDIS_SENTINELS": "sentinel-1:26379,sentinel-2",
    "REDIS_DB": "-1",
}
# The child sees none of these unless a test sets it.
CONFIGURATION = {
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "DEFAULT_FROM_EMAIL",
    "PORT",
    "REDIS_SENTINELS",
    "REDIS_SENTINEL_MASTER",
    "REDIS_DB",
}


def manage_check(**env):
    """`manage.py check` in a child with only the given configuration variables set."""
    child_env = {key: value for key, value in os.environ.items() if key not in CONFIGURATION}
    # `check` connects to the database (JSONField's support check): never to var/db.sqlite3.
    child_env["DATABASE_URL"] = "sqlite://:memory:"
    child_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_line_naming(result, name):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert name in lines[0]


def test_a_well_formed_configuration_passes_the_check():
    result = manage_check(SECRET_KEY="x" * 50, DEBUG="false")

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(("name", "value"), MALFORMED.items(), ids=MALFORMED.keys())
def test_a_malformed_variable_stops_with_one_line_naming_it(name, value):
    # EMAIL_PORT and EMAIL_USE_TLS are only read when an SMTP host is configured.
    env = {"SECRET_KEY": "x" * 50, "DEBUG": "false", "EMAIL_HOST": "smtp.example.org"}

    if name == "REDIS_SENTINELS":
        env["REDIS_SENTINEL_MASTER"] = "microblog"

    result = manage_check(**{**env, name: value})

    assert_one_line_naming(result, name)


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"REDIS_SENTINELS": "127.0.0.1:26379"}, "REDIS_SENTINEL_MASTER"),
        ({"REDIS_SENTINEL_MASTER": "microblog"}, "REDIS_SENTINELS"),
    ],
)
def test_sentinels_without_the_primary_s_name_or_the_reverse_stop_with_one_line(given, missing):
    result = manage_check(SECRET_KEY="x" * 50, DEBUG="false", **given)

    assert_one_line_naming(result, missing)


def test_a_well_formed_sentinel_configuration_passes_the_check():
    result = manage_check(
        SECRET_KEY="x" * 50,
        DEBUG="false",
        REDIS_SENTINELS="10.0.0.1:26379, sentinel-2:26379,[::1]:26380",
        REDIS_SENTINEL_MASTER="microblog",
        REDIS_DB="2",
    )

    assert result.returncode == 0, result.stderr


def test_production_without_a_secret_key_stops_with_one_line_naming_it():
    result = manage_check(DEBUG="false")

    assert_one_line_naming(result, "SECRET_KEY")
