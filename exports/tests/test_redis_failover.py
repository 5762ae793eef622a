"""The Redis primary dies (SIGKILL) under Sentinel in the middle of an export: nothing restarts.

A primary, a replica and three sentinels on loopback (Debian's redis-server and redis-sentinel,
down-after 1 s), one daphne and one worker configured with REDIS_SENTINELS only, an open page
in Chromium, and a websocket client that reconnects as the page's script does and notes when
each message came. The figures it prints are the ones docs/operations.md's "Redis:
managed, or Sentinel" quotes (run with -s to see them).
"""

import os
import signal
import time

import pytest

from blog.seeding import seed_posts
from testkit import processes
from testkit.browser import log_in
from testkit.factories import PASSWORD, UserFactory
from testkit.sentinels import SentinelGroup, require_redis_sentinel
from testkit.visitor import ReconnectingPage, Visitor
from testkit.waiting import wait_until
from usertasks.models import Task

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.fault,
    pytest.mark.slow,
    pytest.mark.e2e,
    pytest.mark.longest,
]

FINAL = {"succeeded", "failed", "cancelled"}


@pytest.fixture
def sentinel_group(tmp_path):
    require_redis_sentinel()
    directory = tmp_path / "redis"
    directory.mkdir()
    group = SentinelGroup(directory)
    try:
        yield group.start()
    finally:
        group.stop()


def _site_env(sentinel_group, media_root, smtp_server):
    return {
        **sentinel_group.env(),
        "MEDIA_ROOT": media_root,
        "TASKS_PER_HOUR": 0,
        "RQ_JOB_MONITORING_INTERVAL": 1,
        "RQ_MAINTENANCE_INTERVAL": 2,
        "TASK_ENQUEUE_GRACE": 1,
        **smtp_server.env(),
    }


def _export_succeeds(visitor, socket, page):
    task_id = visitor.start_export()
    finished = wait_until(lambda: visitor.finished_task(task_id), 60)
    assert finished["status"] == "succeeded", finished
    wait_until(lambda: (socket.shown(task_id) or {}).get("status") == "succeeded", 30)
    page.wait_for_selector(f'.task[data-task-id="{task_id}"][data-status="succeeded"]')


def test_the_site_rides_out_the_loss_of_its_redis_primary_during_an_export(
    sentinel_group, user, media_root, smtp_server, tmp_path, page
):
    seed_posts(author=user, count=200_000, seed=31)
    bob = UserFactory(username="bob")
    redis = sentinel_group
    env = _site_env(redis, media_root, smtp_server)
    web = processes.start_daphne(tmp_path / "web.log", **env)
    worker = processes.start_listening_worker(tmp_path / "worker.log", **env)
    pids = web.pid, worker.pid
    try:
        visitor = Visitor(web.url)
        visitor.log_in(user.username, PASSWORD)
        log_in(page, web.url, user, PASSWORD)  # Chromium on the timeline, kept open throughout
        bobs_visitor = Visitor(web.url)
        bobs_visitor.log_in(bob.username, PASSWORD)
        primary, replica = redis.primary, redis.replica
        old = primary.port
        assert visitor.get("/healthz").json()["redis_primary"] == f"127.0.0.1:{old}"
        deep = visitor.get("/healthz?deep=1").json()
        assert (deep["sentinels"], deep["sentinels_answering"], deep["sentinel_quorum"]) == (
            "ok",
            3,
            2,
        )

        with ReconnectingPage(visitor) as socket:
            wait_until(lambda: socket.snapshots_since(0), 30)
            task_id = visitor.start_export()
            wait_until(lambda: visitor.task(task_id)["done"] > 0, 60, 0.01)
            horse = processes.work_horse_pid(worker)
            os.kill(horse, signal.SIGSTOP)  # so that the primary surely dies mid-export
            # Bob's export reaches the primary only (replication is asynchronous): the replica
            # is held, and its link cut, while it is queued behind alice's.
            replica.process.kill(signal.SIGSTOP)
            primary.client().client_kill_filter(_type="replica")
            lost_id = bobs_visitor.start_export()
            killed_at = time.monotonic()
            primary.kill()
            replica.process.kill(signal.SIGCONT)
            os.kill(horse, signal.SIGCONT)

            promotion = redis.promoted_after(old, 30)
            promoted_at = killed_at + promotion
            assert redis.primary is replica
            wait_until(lambda: visitor.get("/healthz").status_code == 200, 20, 0.1)
            healthy_after = time.monotonic() - promoted_at
            assert visitor.get("/healthz").json()["redis_primary"] == f"127.0.0.1:{replica.port}"
            figures = visitor.get("/metrics").text
            assert f'microblog_redis_primary{{address="127.0.0.1:{replica.port}"}} 1.0' in figures
            assert 'microblog_redis_sentinels{state="answering"} 3.0' in figures

            # The export finishes, or fails with a reason; the lost one fails; none stays active.
            finished = wait_until(lambda: visitor.finished_task(task_id), 60)
            assert finished["status"] == "succeeded" or finished["error"], finished
            lost = wait_until(lambda: bobs_visitor.finished_task(lost_id), 60)
            assert lost["status"] == "failed", lost
            assert lost["error"] == "The worker stopped unexpectedly — please try again."
            wait_until(lambda: not Task.objects.active().exists(), 60)
            settled_at = time.monotonic()
            # The open page shows the final state without a reload.
            shown_at = wait_until(
                lambda: socket.first_time_shown(task_id, {finished["status"]}, since=killed_at), 60
            )
            assert socket.shown(task_id)["status"] == finished["status"]
            live_again_at = wait_until(lambda: socket.snapshots_since(killed_at), 30)[0]
            card = f'.task[data-task-id="{task_id}"][data-status="{finished["status"]}"]'
            page.wait_for_selector(card, timeout=30_000)
            page.wait_for_selector("#tasks-connection", state="detached", timeout=30_000)

            _export_succeeds(visitor, socket, page)
            assert (web.pid, worker.pid) == pids and web.alive() and worker.alive()

            # The old primary comes back, empty, and the sentinels make it a replica.
            redis.restart(primary)
            _export_succeeds(visitor, socket, page)
            wait_until(lambda: primary.info().get("master_link_status") == "up", 60)
            _export_succeeds(visitor, socket, page)
            health = visitor.get("/healthz")
            assert health.status_code == 200
            assert health.json()["redis_primary"] == f"127.0.0.1:{replica.port}"
            assert (web.pid, worker.pid) == pids and web.alive() and worker.alive()

        # With fewer sentinels than the quorum, the next failover would need an operator.
        first, second, _ = redis.sentinels
        first.kill(signal.SIGKILL)
        response = visitor.get("/healthz?deep=1")
        assert response.status_code == 200, response.json()
        assert response.json()["sentinels_answering"] == 2
        second.kill(signal.SIGKILL)
        response = visitor.get("/healthz?deep=1")
        assert response.status_code == 503
        assert response.json()["sentinels"] == "1 of 3 sentinels answer (quorum 2)"
        assert visitor.get("/healthz").status_code == 200  # the primary is still there
        # Warm shutdown, from its wait on the queue: no reply read out of turn. It ends after its
        # blocking read returns (seconds on a loaded machine): wait for that, not for 10 s.
        worker.stop(timeout=120)
        assert worker.popen.returncode == 0, worker.output()[-3000:]

        print(
            f"\nfailover: promotion {promotion:.1f} s after the SIGKILL; /healthz 200"
            f" {healthy_after:.1f} s after the promotion; the running export"
            f" {finished['status']} ({finished['error'] or 'no error'}), the unreplicated one"
            f" failed; no task active {settled_at - killed_at:.1f} s after the SIGKILL; the page"
            f" live again (snapshot) after {live_again_at - killed_at:.1f} s, showing the final"
            f" state after {shown_at - killed_at:.1f} s"
        )
    finally:
        web.stop()
        worker.stop()
