"""The Task state machine (usertasks/transitions.py): its table, its refusals, and that every
write, creation included, reaches the owner's open pages once committed."""

import time

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import transaction

from devtools.embedded_redis import EmbeddedRedis
from exports.services import export_launch
from redis_clients import RedisConfig
from testkit.communicators import communicator, connected_past_snapshot, run
from testkit.factories import TaskFactory
from usertasks import reasons, services, transitions
from usertasks.models import Task
from usertasks.progress import Broadcaster
from usertasks.transitions import TRANSITIONS, IllegalTransition

pytestmark = pytest.mark.django_db(transaction=True)
S = Task.Status


def test_the_table_allows_exactly_the_moves_of_the_spec():
    allowed = {(source, target) for source, targets in TRANSITIONS.items() for target in targets}

    assert allowed == {
        (None, S.QUEUED),
        (S.QUEUED, S.RUNNING),
        (S.QUEUED, S.FAILED),
        (S.QUEUED, S.CANCELLED),
        (S.RUNNING, S.SUCCEEDED),
        (S.RUNNING, S.FAILED),
        (S.RUNNING, S.CANCELLED),
    }


ILLEGAL = [
    (source, target)
    for source in S
    for target in S
    if target not in TRANSITIONS.get(source, ()) and source != target
] + [(S.QUEUED, S.QUEUED), (S.RUNNING, S.RUNNING)]


@pytest.mark.parametrize(("source", "target"), ILLEGAL)
def test_an_illegal_transition_raises_and_changes_nothing(user, source, target):
    task = TaskFactory(user=user, status=source)

    with pytest.raises(IllegalTransition):
        transitions.move(task, to=target)

    assert Task.objects.get(pk=task.pk).status == source


def test_a_move_that_lost_a_race_changes_nothing_and_says_so(user):
    task = TaskFactory(user=user, status=S.QUEUED)
    Task.objects.filter(pk=task.pk).update(status=S.CANCELLED)  # a cancel won meanwhile

    assert transitions.move(task, to=S.RUNNING) is False

    assert Task.objects.get(pk=task.pk).status == S.CANCELLED


def test_final_moves_stamp_their_time_and_success_fills_the_bar(user):
    task = TaskFactory(user=user, status=S.QUEUED)

    assert transitions.move(task, to=S.RUNNING, done=0, total=10)
    assert transitions.report_progress(task, done=4)
    assert Task.objects.get(pk=task.pk).progress == 40
    assert transitions.move(task, to=S.SUCCEEDED, done=10)

    task.refresh_from_db()
    assert (task.status, task.progress) == (S.SUCCEEDED, 100)
    assert task.started_at <= task.finished_at
    assert transitions.report_progress(task, done=11) is False


def test_an_active_task_cannot_be_dismissed(user):
    with pytest.raises(IllegalTransition):
        transitions.dismiss(TaskFactory(user=user, status=S.RUNNING))


def test_a_page_open_when_another_tab_starts_an_export_sees_it_queued_with_no_worker_running(
    ws_headers, client, user, redis_client
):
    headers = ws_headers(user)  # logs ``client`` in as the user: the "other tab"

    async def body():
        ws = communicator(headers)
        await connected_past_snapshot(ws)
        response = await sync_to_async(client.post)("/exports/")
        assert response.status_code == 302
        # No worker runs and the page polls nothing: only the launch itself can tell it.
        message = await ws.receive_json_from(timeout=10)
        await ws.disconnect()
        return message

    message = run(body)

    task = Task.objects.get()
    assert message["task"]["id"] == task.pk
    assert message["task"]["status"] == "queued"
    assert message["task"]["title"] == "Export of your posts — waiting to start"
    assert message["task"]["cancel_url"] == f"/exports/{task.pk}/cancel"
    assert task.status == S.QUEUED


def test_creation_is_published_only_once_the_transaction_commits(ws_headers, user, redis_client):
    headers = ws_headers(user)

    async def body():
        ws = communicator(headers)
        await connected_past_snapshot(ws)

        def launch_in_a_transaction():
            with transaction.atomic():
                task = export_launch(user=user)
                time.sleep(0.3)  # a page told now would show a row /status cannot find yet
                return task

        task = await database_sync_to_async(launch_in_a_transaction)()
        message = await ws.receive_json_from(timeout=1)
        await ws.disconnect()
        return task, message

    task, message = run(body)

    assert (message["task"]["id"], message["task"]["status"]) == (task.pk, "queued")


@pytest.fixture
def dead_redis(settings):
    dead = EmbeddedRedis().start()
    dead.stop()
    settings.REDIS = RedisConfig(url=dead.url)


def test_a_redis_failure_during_launch_inside_atomic_ends_the_task_failed(user, dead_redis):
    with (
        transaction.atomic(),
        pytest.raises(services.TaskLaunchFailed, match="could not be queued"),
    ):
        export_launch(user=user)

    task = Task.objects.get()
    assert (task.status, task.error_code) == (S.FAILED, reasons.QUEUE_FAILED)
    assert task.finished_at is not None


def test_with_atomic_requests_a_redis_failure_tells_the_user_and_fails_the_task(
    logged_in, user, dead_redis, monkeypatch
):
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)

    response = logged_in.post("/exports/", follow=True)

    page = response.content.decode()
    assert "could not be queued" in page
    assert "Your export has started" not in page
    task = Task.objects.get()
    assert (task.status, task.error_code) == (S.FAILED, reasons.QUEUE_FAILED)
    assert not Task.objects.active().exists()


def _channel_layer_on(settings, url):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": url}]},
        }
    }


def test_a_jobs_broadcaster_is_connected_before_the_job_writes_its_first_state(
    private_redis, settings
):
    """Its first publish, the running state, must not wait for a connection to open."""
    server = private_redis[-1]
    _channel_layer_on(settings, server.url)
    watcher = redis.Redis.from_url(server.url)

    def others():
        return len(watcher.client_list()) - 1

    assert others() == 0
    broadcaster = Broadcaster()
    try:
        assert others() == 1
        broadcaster.send("user-1.tasks", {"type": "task.update", "group": "user-1.tasks"})
        assert others() == 1
    finally:
        broadcaster.close()
        watcher.close()


def test_a_broadcaster_made_while_redis_is_down_lets_the_job_go_on(settings):
    dead = EmbeddedRedis().start()
    dead.stop()
    _channel_layer_on(settings, dead.url)

    broadcaster = Broadcaster()

    assert broadcaster.redis_unavailable()
    broadcaster.close()
