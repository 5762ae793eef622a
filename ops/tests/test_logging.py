"""Structured logs: one JSON object per line, naming the request, user and task they concern."""

import io
import json
import logging
import os

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import path
from django.utils.functional import SimpleLazyObject

from ops.logging import ContextFilter, JSONFormatter, task_context
from ops.middleware import RequestIdMiddleware
from testkit import processes


@pytest.fixture
def log_lines():
    """What the root logger writes through the production handler's formatter and filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def test_a_request_gets_an_id_in_its_logs_and_its_response(client, log_lines):
    response = client.get("/no-such-page/")

    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    [entry] = [e for e in log_lines() if e["logger"] == "django.request"]
    assert entry["request_id"] == request_id
    assert entry["level"] == "WARNING"
    assert entry["message"] == "Not Found: /no-such-page/"
    assert entry["time"].endswith("Z")


def test_a_well_formed_incoming_request_id_is_kept(client, log_lines):
    response = client.get("/no-such-page/", headers={"X-Request-ID": "lb-7f3a.42"})

    assert response["X-Request-ID"] == "lb-7f3a.42"
    assert {e.get("request_id") for e in log_lines()} == {"lb-7f3a.42"}


@pytest.mark.parametrize("incoming", ["", "has space", "x" * 200, 'quote"', "line\nbreak"])
def test_a_malformed_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/", headers={"X-Request-ID": incoming})

    assert response["X-Request-ID"] != incoming
    assert len(response["X-Request-ID"]) == 32


def test_every_distinct_request_gets_its_own_id(client):
    ids = {client.get("/")["X-Request-ID"] for _ in range(3)}

    assert len(ids) == 3


@login_required  # loads the user, as most views do before they have anything to log
def logging_view(request):
    logging.getLogger("microblog.test").info("inside a sync view")
    return HttpResponse()


urlpatterns = [path("log/", logging_view)]


@pytest.mark.urls(__name__)
def test_under_asgi_a_sync_view_logs_with_the_request_id_and_user(async_client, user, log_lines):
    async_client.force_login(user)

    response = async_to_sync(async_client.get)("/log/")

    [entry] = [e for e in log_lines() if e["logger"] == "microblog.test"]
    assert entry["request_id"] == response["X-Request-ID"]
    assert entry["user_id"] == user.pk


def test_logs_name_the_user_once_authentication_has_run(user, log_lines):
    def view(request):
        logging.getLogger("microblog.test").info("inside the view")
        return HttpResponse()

    request = RequestFactory().get("/")
    request.user = user

    RequestIdMiddleware(view)(request)

    [entry] = log_lines()
    assert entry["user_id"] == user.pk
    assert entry["request_id"] == request.request_id


def test_logging_never_loads_the_user_itself(user, log_lines, django_assert_num_queries):
    def view(request):
        logging.getLogger("microblog.test").info("the user was never needed")
        return HttpResponse()

    request = RequestFactory().get("/")
    request.user = SimpleLazyObject(lambda: user.__class__.objects.get(pk=user.pk))

    with django_assert_num_queries(0):
        RequestIdMiddleware(view)(request)

    [entry] = log_lines()
    assert "user_id" not in entry
    assert entry["request_id"] == request.request_id


def test_anonymous_requests_have_no_user_id(log_lines):
    def view(request):
        logging.getLogger("microblog.test").info("anonymous")
        return HttpResponse()

    request = RequestFactory().get("/")
    request.user = AnonymousUser()

    RequestIdMiddleware(view)(request)

    assert "user_id" not in log_lines()[0]


def test_the_context_ends_with_the_request(log_lines):
    RequestIdMiddleware(lambda request: HttpResponse())(RequestFactory().get("/"))
    logging.getLogger("microblog.test").info("after the request")

    assert "request_id" not in log_lines()[-1]


def test_records_inside_a_task_name_it(log_lines):
    logger = logging.getLogger("exports.jobs")
    with task_context("a" * 32):
        logger.info("working")
    logger.info("idle")

    working, idle = log_lines()
    assert working["task_id"] == "a" * 32
    assert "task_id" not in idle


def test_a_traceback_stays_on_its_line(log_lines):
    try:
        raise ValueError("boom\nwith a newline")
    except ValueError:
        logging.getLogger("microblog.test").exception("it failed")

    [entry] = log_lines()
    assert entry["message"] == "it failed"
    assert "Traceback" in entry["exc_info"]
    assert "ValueError: boom" in entry["exc_info"]


def test_non_ascii_and_odd_arguments_are_logged_as_valid_json(log_lines):
    logging.getLogger("microblog.test").warning("café %s %r", "🚀", object)

    [entry] = log_lines()
    assert entry["message"] == "café 🚀 <class 'object'>"


def settings_in_child(*names, **env):
    child_env = {key: value for key, value in os.environ.items() if key != "LOG_FORMAT"}
    child_env.update({"SECRET_KEY": "x" * 50, **env})
    code = (
        "from django.conf import settings; print("
        + ", ".join(f"settings.{name}" for name in names)
        + ")"
    )
    return processes.run_python(
        ["-c", f"import django; django.setup(); {code}"],
        {**child_env, "DJANGO_SETTINGS_MODULE": "microblog.settings"},
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DEBUG": "false"}, "json"),
        ({"DEBUG": "true"}, "text"),
        ({"DEBUG": "false", "LOG_FORMAT": "text"}, "text"),
        ({"DEBUG": "true", "LOG_FORMAT": "json"}, "json"),
    ],
)
def test_production_logs_json_and_make_run_logs_text(env, expected):
    result = settings_in_child("LOG_FORMAT", **env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_a_malformed_log_format_stops_with_one_line_naming_it():
    result = settings_in_child("LOG_FORMAT", LOG_FORMAT="xml")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Configuration error: LOG_FORMAT has a malformed value (expected json or text)"
    ]
