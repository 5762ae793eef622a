"""TaskConsumer through the whole ASGI stack, on the real Redis channel layer."""

import json

import pytest
from channels.db import database_sync_to_async

from exports.models import Task
from exports.progress import report_progress
from exports.tests.conftest import communicator, connected_past_snapshot, run
from microblog.testing.factories import TaskFactory

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
        await database_sync_to_async(report_progress)(theirs, status=Task.Status.RUNNING)
        await database_sync_to_async(report_progress)(
            mine, status=Task.Status.RUNNING, done=5, total=10
        )
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
        await database_sync_to_async(report_progress)(mine, status=Task.Status.RUNNING)
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
        await database_sync_to_async(report_progress)(mine, status=Task.Status.RUNNING)
        assert (await ws.receive_json_from(timeout=5))["task"]["status"] == "running"
        await ws.disconnect()

    run(body)
