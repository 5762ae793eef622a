"""What the channel layer loses still reaches the open pages.

Redis drops a pub/sub subscriber that stops reading (a stalled or overloaded web process past
its output buffer limit), and the layer subscribes again by itself: whatever was published in
between is lost without a word, so a page could show a task running for good, or never show a
task started in another tab. Here the web process is frozen (SIGSTOP) and Redis drops its
subscription (``CLIENT KILL TYPE pubsub``, what the output buffer limit does) while alice's
export ends and bob starts one in another tab: both are published to no one, for certain. When
the process resumes, its watch sees a new subscription and renews its pages (close code 4012):
they reconnect, as the browser's script does, and their snapshot holds every state they missed.
"""

import json
import os
import signal

import pytest
import redis
from websockets.exceptions import ConnectionClosed

from blog.seeding import seed_posts
from testkit import processes
from testkit.factories import PASSWORD, UserFactory
from testkit.visitor import Visitor
from testkit.waiting import wait_until
from usertasks.models import Task
from usertasks.progress import user_group_name
from usertasks.socket_watch import RENEW

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]


def _close_code(socket, timeout):
    """Read ``socket`` until the server closes it; the close code (None: still open)."""
    try:
        while True:
            socket.recv(timeout=timeout)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None


def _snapshot(visitor):
    """The tasks a reconnecting page is sent first, by id."""
    tasks = {}
    with visitor.websocket() as socket:
        while (message := json.loads(socket.recv(timeout=10)))["type"] == "task":
            tasks[message["task"]["id"]] = message["task"]
    return tasks


def _subscribers(redis_url, group):
    """How many subscriptions Redis holds for a group's channel (the pub/sub layer's name)."""
    channel = f"asgi__group__{group}"
    return dict(redis.Redis.from_url(redis_url).pubsub_numsub(channel))[channel.encode()]


def test_pages_of_a_web_process_whose_subscription_redis_dropped_get_every_state_they_missed(
    private_redis, user, media_root, smtp_server, tmp_path
):
    seed_posts(author=user, count=200_000, seed=8)
    bob = UserFactory(username="bob")
    redis_url = private_redis[0].url
    env = {"REDIS_URL": redis_url, "MEDIA_ROOT": media_root, "TASKS_PER_HOUR": 0}
    env.update(smtp_server.env())
    stalled = processes.start_daphne(tmp_path / "stalled-web.log", **env)
    other_web = processes.start_daphne(tmp_path / "other-web.log", **env)
    worker = processes.start_listening_worker(tmp_path / "worker.log", **env)
    try:
        alice = Visitor(stalled.url)
        alice.log_in(user.username, PASSWORD)
        bobs_page = Visitor(stalled.url)
        bobs_page.log_in(bob.username, PASSWORD)
        with alice.websocket() as alices_socket, bobs_page.websocket() as bobs_socket:
            assert json.loads(bobs_socket.recv(timeout=10))["type"] == "messages"
            assert json.loads(bobs_socket.recv(timeout=10))["type"] == "snapshot"
            task_id = alice.start_export()
            wait_until(lambda: alice.task(task_id)["done"] > 0, 60, 0.01)
            horse = processes.work_horse_pid(worker)
            os.kill(horse, signal.SIGSTOP)  # alice's export, held mid-stream
            os.kill(stalled.pid, signal.SIGSTOP)
            try:
                redis.Redis.from_url(redis_url).client_kill_filter(_type="pubsub")
                # bob exports in another tab, served by the other web process.
                bob_elsewhere = Visitor(other_web.url)
                bob_elsewhere.log_in(bob.username, PASSWORD)
                bobs_task_id = bob_elsewhere.start_export()
                os.kill(horse, signal.SIGCONT)
                wait_until(lambda: Task.objects.get(pk=task_id).status == "succeeded", 120)
                # Published while no web process listened: lost for certain.
                assert _subscribers(redis_url, user_group_name(user.pk)) == 0
                assert _subscribers(redis_url, user_group_name(bob.pk)) == 0
            finally:
                os.kill(stalled.pid, signal.SIGCONT)

            assert _close_code(alices_socket, 30) == RENEW
            assert _close_code(bobs_socket, 30) == RENEW

        alices_tasks = _snapshot(alice)
        assert alices_tasks[task_id]["status"] == "succeeded"
        assert alices_tasks[task_id]["download_url"]
        assert alices_tasks[task_id]["title"] == "Export of your posts — ready"
        assert bobs_task_id in _snapshot(bobs_page)
    finally:
        for process in (stalled, other_web, worker):
            process.stop()
