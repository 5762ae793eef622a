"""A production configuration passes `manage.py check --deploy` and trusts its TLS proxy."""

import os
import secrets
import string

from testkit import processes

PRODUCTION = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": "blog.example.com",
    "EMAIL_HOST": "smtp.example.com",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
}

# Run in a child with production settings: is a request forwarded as HTTPS seen as secure?
PROXY_PROBE = """
import django
django.setup()
from django.conf import settings
from django.test import RequestFactory
assert settings.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")
forwarded = RequestFactory().get("/", HTTP_HOST="blog.example.com", HTTP_X_FORWARDED_PROTO="https")
plain = RequestFactory().get("/", HTTP_HOST="blog.example.com")
print(forwarded.is_secure(), plain.is_secure())
"""


def production_env():
    # Long and varied enough for check_secret_key (security.W009).
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    env = {**os.environ, **PRODUCTION}
    env["SECRET_KEY"] = "".join(secrets.choice(alphabet) for _ in range(60))
    env["DJANGO_SETTINGS_MODULE"] = "microblog.settings"
    # `check` connects to the database (JSONField's support check): never to var/db.sqlite3.
    env.setdefault("DATABASE_URL", "sqlite://:memory:")
    env.pop("STATIC_MANIFEST", None)  # the test session forces it off; production does not
    return env


def run(*args):
    return processes.run_python(list(args), production_env(), timeout=60)


def test_production_settings_pass_the_deploy_check_without_warnings():
    result = run("manage.py", "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout + result.stderr


def test_requests_forwarded_as_https_by_the_proxy_are_secure():
    result = run("-c", PROXY_PROBE)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False"]
