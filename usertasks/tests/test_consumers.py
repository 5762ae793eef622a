"""TaskConsumer through the whole ASGI stack, on the real Redis channel layer."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from testkit.communicators import communicator, connected_past_snapshot, run
from testkit.factories import TaskFactory
from usertasks.models import Task
from usertasks.progress import Broadcaster, user_group_name
from usertasks.socket_watch import CHECK_INTERVAL
from usertasks.transitions import move

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _redis(redis_client):
    return redis_client


def test_anonymous_connection_is_refused(ws_headers):
    headers = ws_headers(user=None)

    async def body():
        ws = communicator(headers)
        connected, _ = await ws.connect()
        assert not connected

    run(body)


def test_cross_origin_connection_is_refused(ws_headers, user):
    headers = ws_headers(user, origin="http://evil.example")

    async def body():
        ws = communicator(headers)
        connected, _ = await ws.connect()
        assert not connected

    run(body)


def connects(headers):
    """Whether a handshake with these headers is accepted (then closed again)."""

    async def body():
        ws = communicator(headers)
        connected, _ = await ws.connect()
        if connected:
            await ws.disconnect()
        return connected

    return run(body)


@pytest.mark.parametrize(
    "origin",
    ["http://127.0.0.1:9999", "http://127.0.0.1", "http://localhost:8150"],
    ids=["another port", "the default port", "another allowed host"],
)
def test_an_origin_other_than_the_pages_own_host_and_port_is_refused(ws_headers, user, origin):
    assert not connects(ws_headers(user, origin=origin))


def test_an_origin_with_another_scheme_than_the_page_is_refused(ws_headers, user):
    assert not connects(ws_headers(user, origin="https://127.0.0.1:8150"))


@pytest.mark.parametrize("host", ["127.0.0.1:8150", "localhost:9999", "[::1]:8000", "localhost"])
def test_the_pages_own_origin_is_accepted_on_whatever_port_it_is_served(ws_headers, user, host):
    assert connects(ws_headers(user, origin=f"http://{host}", host=host))


def test_the_pages_own_origin_is_refused_when_its_host_is_not_allowed(ws_headers, user):
    """A name rebound to this server's address (DNS rebinding) is not one of ALLOWED_HOSTS."""
    assert not connects(ws_headers(user, origin="http://evil.example", host="evil.example"))


def test_csrf_trusted_origins_are_accepted_with_exactly_their_scheme_and_port(
    ws_headers, user, settings
):
    settings.CSRF_TRUSTED_ORIGINS = ["https://blog.example.com", "https://*.example.org"]
    expected = {
        "https://blog.example.com": True,
        "https://blog.example.com:8443": False,
        "http://blog.example.com": False,
        "https://www.example.org": True,
        "https://example.org": True,
        "http://www.example.org": False,
        "https://notexample.org": False,
    }

    accepted = {origin: connects(ws_headers(user, origin=origin)) for origin in expected}

    assert accepted == expected


def test_site_urls_origin_is_accepted(ws_headers, user, settings):
    settings.SITE_URL = "https://blog.example.com/"

    assert connects(ws_headers(user, origin="https://blog.example.com"))
    assert not connects(ws_headers(user, origin="https://blog.example.com:8443"))


def test_behind_a_tls_proxy_the_pages_https_origin_is_accepted(ws_headers, user, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["blog.example.com"]
    headers = ws_headers(user, origin="https://blog.example.com", host="blog.example.com")

    assert connects([*headers, (b"x-forwarded-proto", b"https")])
    assert not connects([*headers, (b"x-forwarded-proto", b"http")])


def test_connection_starts_with_a_snapshot_of_only_the_users_own_tasks(
    ws_headers, user, other_user
):
    mine = TaskFactory(user=user, status=Task.Status.RUNNING, progress=40)
    TaskFactory(user=other_user, status=Task.Status.RUNNING)

    headers = ws_headers(user)

    async def body():
        ws = communicator(headers)
        connected, _ = await ws.connect()
        assert connected
        first = await ws.receive_json_from()
        assert first["type"] == "task"
        assert first["task"]["id"] == mine.pk
        assert first["task"]["progress"] == 40
        assert {"name", "description", "status", "error", "download_url", "updated_at"} <= set(
            first["task"]
        )
        assert await ws.receive_json_from() == {"type": "messages", "unread": 0}
        assert await ws.receive_json_from() == {"type": "snapshot", "task_ids": [mine.pk]}
        assert await ws.receive_nothing()
        await ws.disconnect()

    run(body)


def test_progress_reports_reach_the_owner_and_nobody_else(ws_headers, user, other_user):
    mine = TaskFactory(user=user)
    theirs = TaskFactory(user=other_user)

    headers = ws_headers(user)

    async def body():
        ws = communicator(headers)
        await connected_past_snapshot(ws)
        await database_sync_to_async(move)(theirs, to=Task.Status.RUNNING)
        await database_sync_to_async(move)(mine, to=Task.Status.RUNNING, done=5, total=10)
        message = await ws.receive_json_from()
        assert message["task"]["id"] == mine.pk
        assert (message["task"]["status"], message["task"]["progress"]) == ("running", 50)
        assert await ws.receive_nothing()
        await ws.disconnect()

    run(body)


def test_whatever_the_client_sends_is_ignored(ws_headers, user, other_user):
    mine = TaskFactory(user=user)
    theirs = TaskFactory(user=other_user)
    hostile = [
        "not json",
        json.dumps({"type": "subscribe", "group": f"user-{other_user.pk}.tasks"}),
        json.dumps({"type": "task.update", "task": {"id": theirs.pk}}),
        json.dumps({"task_id": theirs.pk}),
        "x" * 100_000,
    ]

    headers = ws_headers(user)

    async def body():
        ws = communicator(headers)
        await connected_past_snapshot(ws)
        for text in hostile:
            await ws.send_to(text_data=text)
        await ws.send_to(bytes_data=b"\x00\xff" * 100)
        assert await ws.receive_nothing()
        await database_sync_to_async(move)(mine, to=Task.Status.RUNNING)
        assert (await ws.receive_json_from())["task"]["id"] == mine.pk
        await ws.disconnect()

    run(body)


@pytest.mark.slow
def test_an_idle_connection_still_receives_updates_after_15_seconds(ws_headers, user):
    """channels_redis#422: a 5 s socket timeout would have killed this connection."""
    mine = TaskFactory(user=user)

    headers = ws_headers(user)

    async def body():
        ws = communicator(headers)
        await connected_past_snapshot(ws)
        assert await ws.receive_nothing(timeout=15, interval=0.5)
        await database_sync_to_async(move)(mine, to=Task.Status.RUNNING)
        assert (await ws.receive_json_from(timeout=5))["task"]["status"] == "running"
        await ws.disconnect()

    run(body)


def test_a_job_closing_its_channel_layer_in_the_same_process_spares_the_sockets(ws_headers, user):
    """A job run in a web process's own process (tests, a management command) closes its
    broadcaster's channel layer pools when it ends; the sockets' inbox receives on a layer
    instance of its own, so it keeps hearing its groups."""
    task = TaskFactory(user=user)
    headers = ws_headers(user)

    def a_jobs_broadcasts():
        broadcaster = Broadcaster()
        broadcaster.send(user_group_name(user.pk), {"type": "task.update", "group": "x"})
        broadcaster.close()

    async def body():
        ws = communicator(headers)
        await connected_past_snapshot(ws)
        await asyncio.to_thread(a_jobs_broadcasts)
        await database_sync_to_async(move)(task, to=Task.Status.RUNNING, done=1, total=4)
        message = await ws.receive_json_from(timeout=5)
        assert (message["task"]["id"], message["task"]["progress"]) == (task.pk, 25)
        await ws.disconnect()

    run(body)


def test_a_final_state_that_was_never_published_still_reaches_the_socket(ws_headers, user):
    """A worker's publish can fail while the web process's subscription is fine (Redis out of
    the worker's reach alone, for a moment): the watch reads the row and sends the final."""
    task = TaskFactory(user=user, status=Task.Status.RUNNING)
    headers = ws_headers(user)

    def ended_without_a_message():
        Task.objects.filter(pk=task.pk).update(
            status=Task.Status.SUCCEEDED, finished_at=timezone.now(), updated_at=timezone.now()
        )

    async def body():
        ws = communicator(headers)
        assert [shown["status"] for shown in await connected_past_snapshot(ws)] == ["running"]
        await database_sync_to_async(ended_without_a_message)()
        message = await ws.receive_json_from(timeout=3 * CHECK_INTERVAL + 5)
        assert (message["task"]["id"], message["task"]["status"]) == (task.pk, "succeeded")
        await ws.disconnect()

    run(body)
