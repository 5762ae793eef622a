"""A final state the channel layer dropped still reaches the open page.

Redis drops a pub/sub subscriber that stops reading (a stalled or overloaded web process past
its output buffer limit), and whatever is published until the layer has subscribed again is
lost: before the watch, such a socket never heard that its task had ended and showed it running
for good. Here the web process is frozen (SIGSTOP) and Redis drops its subscription
(``CLIENT KILL TYPE pubsub``, what the output buffer limit does) while alice's export ends: her
final state is published to no one, for certain, and must arrive all the same.
"""

import json
import os
import signal
import time

import pytest
import redis

from exports.models import Task
from exports.progress import user_group_name
from microblog.seeding import seed_posts
from microblog.testing import processes
from microblog.testing.factories import PASSWORD, UserFactory
from microblog.testing.visitor import Visitor
from microblog.testing.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault, pytest.mark.real_login]


def _next_state_of(socket, task_id, timeout):
    """The next state of ``task_id`` this socket receives within ``timeout`` seconds, or None."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = json.loads(socket.recv(timeout=left))
        except TimeoutError:
            return None
        if message["type"] == "task" and message["task"]["id"] == task_id:
            return message["task"]
    return None


def _subscribers(redis_url, group):
    """How many subscriptions Redis holds for a group's channel (the pub/sub layer's name)."""
    channel = f"asgi__group__{group}"
    return dict(redis.Redis.from_url(redis_url).pubsub_numsub(channel))[channel.encode()]


def test_a_final_state_dropped_for_a_stalled_web_process_still_reaches_the_page(
    private_redis, user, media_root, smtp_server, tmp_path
):
    seed_posts(author=user, count=200_000, seed=8)
    bob = UserFactory(username="bob")
    redis_url = private_redis[0].url
    env = {
        "REDIS_URL": redis_url,
        "MEDIA_ROOT": media_root,
        "EXPORTS_PER_HOUR": 0,
        **smtp_server.env(),
    }
    stalled = processes.start_daphne(tmp_path / "stalled-web.log", **env)
    other_web = processes.start_daphne(tmp_path / "other-web.log", **env)
    worker = processes.start_listening_worker(tmp_path / "worker.log", **env)
    try:
        alice = Visitor(stalled.url)
        alice.log_in(user.username, PASSWORD)
        bobs_page = Visitor(stalled.url)
        bobs_page.log_in(bob.username, PASSWORD)
        with alice.websocket() as alices_socket, bobs_page.websocket() as bobs_socket:
            assert json.loads(bobs_socket.recv(timeout=10))["type"] == "snapshot"
            task_id = alice.start_export()
            wait_until(lambda: alice.task(task_id)["done"] > 0, 60, 0.01)
            horse = processes.work_horse_pid(worker)
            os.kill(horse, signal.SIGSTOP)  # alice's export, held mid-stream
            os.kill(stalled.pid, signal.SIGSTOP)
            try:
                redis.Redis.from_url(redis_url).client_kill_filter(_type="pubsub")
                # bob exports through the other web process meanwhile: the site stays busy.
                bob_on_other_web = Visitor(other_web.url)
                bob_on_other_web.log_in(bob.username, PASSWORD)
                bob_on_other_web.start_export()
                os.kill(horse, signal.SIGCONT)
                wait_until(lambda: Task.objects.get(pk=task_id).status == "succeeded", 120)
                # Published while no web process listened: lost for certain.
                assert _subscribers(redis_url, user_group_name(user.pk)) == 0
            finally:
                os.kill(stalled.pid, signal.SIGCONT)

            final = None
            while final is None:
                state = _next_state_of(alices_socket, task_id, 30)
                assert state, "alice's page never heard that her export ended"
                if state["status"] not in ("queued", "running"):
                    final = state
            assert final["status"] == "succeeded" and final["download_url"]
            assert final["title"] == "Export of your posts — ready"
    finally:
        for process in (stalled, other_web, worker):
            process.stop()
