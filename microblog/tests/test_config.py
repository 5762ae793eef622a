"""A malformed or missing setting stops start-up with one line naming it (microblog/config.py);
a renamed one is still read under its old name, with one warning line."""

import os

import pytest
from django.utils import timezone

from testkit import processes
from testkit.factories import TaskFactory, UserFactory
from testkit.visitor import Visitor
from usertasks.models import Task

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
    "TASKS_PER_HOUR",
    "EXPORTS_PER_HOUR",
    "TASK_TIMEOUT_BASE",
    "EXPORT_TIMEOUT_BASE",
    "LOG_FORMAT",
}


def manage_check(*command, **env):
    """`manage.py check` (or ``command``) in a child with only the given configuration
    variables set."""
    child_env = {key: value for key, value in os.environ.items() if key not in CONFIGURATION}
    # `check` connects to the database (JSONField's support check): never to var/db.sqlite3.
    child_env["DATABASE_URL"] = "sqlite://:memory:"
    child_env.update(env)
    return processes.run_python(["manage.py", *(command or ["check"])], child_env, timeout=60)


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


PRINT_TASK_SETTINGS = [
    "shell",
    "--no-imports",
    "-c",
    "from django.conf import settings; print(settings.TASKS_PER_HOUR, settings.TASK_TIMEOUT_BASE)",
]


def deprecation_lines(result):
    return [line for line in result.stdout.splitlines() if "will be removed" in line]


def test_the_old_names_of_the_task_settings_still_work_with_one_warning_line_each():
    result = manage_check(
        *PRINT_TASK_SETTINGS,
        DEBUG="true",
        LOG_FORMAT="text",
        EXPORTS_PER_HOUR="3",
        EXPORT_TIMEOUT_BASE="45",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "3 45"
    warnings = deprecation_lines(result)
    assert len(warnings) == 2, result.stdout
    assert "WARNING" in warnings[0] and "EXPORTS_PER_HOUR is deprecated" in warnings[0]
    assert "set TASKS_PER_HOUR instead" in warnings[0]
    assert "EXPORT_TIMEOUT_BASE is deprecated" in warnings[1]
    assert "set TASK_TIMEOUT_BASE instead" in warnings[1]


def test_the_new_name_wins_over_the_old_one_which_is_reported_ignored():
    result = manage_check(
        *PRINT_TASK_SETTINGS,
        DEBUG="true",
        LOG_FORMAT="text",
        TASKS_PER_HOUR="7",
        EXPORTS_PER_HOUR="3",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "7 120"
    [warning] = deprecation_lines(result)
    assert "EXPORTS_PER_HOUR is ignored (TASKS_PER_HOUR is set)" in warning


def test_the_new_names_alone_log_no_deprecation():
    result = manage_check(*PRINT_TASK_SETTINGS, DEBUG="true", LOG_FORMAT="text", TASKS_PER_HOUR="2")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["2 120"]


def test_a_malformed_old_name_stops_with_one_line_naming_it():
    result = manage_check(SECRET_KEY="x" * 50, DEBUG="false", EXPORTS_PER_HOUR="many")

    assert_one_line_naming(result, "EXPORTS_PER_HOUR")


def test_a_site_started_with_only_the_old_rate_limit_variable_enforces_it(
    transactional_db, redis_client, media_root, tmp_path, password
):
    assert "TASKS_PER_HOUR" not in os.environ  # the child inherits the session's environment
    user = UserFactory()
    TaskFactory(user=user, status=Task.Status.SUCCEEDED, started_at=timezone.now())
    site = processes.start_daphne(
        tmp_path / "daphne.log", MEDIA_ROOT=media_root, EXPORTS_PER_HOUR=1
    )
    try:
        visitor = Visitor(site.url)
        visitor.log_in(user.username, password)

        page = visitor.post("/exports/", {"next": "/exports/"})

        assert page.status_code == 200
        assert "You can start at most 1 export per hour." in page.text
        assert Task.objects.count() == 1
        [warning] = [line for line in site.output().splitlines() if "will be removed" in line]
        assert "EXPORTS_PER_HOUR is deprecated" in warning
    finally:
        site.stop()
