"""Redis restarts (losing its data) in the middle of an export: nothing has to be restarted.

Before, the worker's heartbeat raised ConnectionError and the worker quit; under `make run`
honcho then stopped the web server too.
"""

import os
import signal

import pytest

from blog.seeding import seed_posts
from devtools.embedded_redis import EmbeddedRedis
from testkit import processes
from testkit.factories import PASSWORD
from testkit.visitor import Visitor
from testkit.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]


def test_worker_and_web_ride_out_a_redis_restart_during_an_export(
    private_redis, user, media_root, smtp_server, tmp_path
):
    seed_posts(author=user, count=200_000, seed=5)
    redis = private_redis[0]
    env = {
        "REDIS_URL": redis.url,
        "MEDIA_ROOT": media_root,
        "TASKS_PER_HOUR": 0,
        "RQ_JOB_MONITORING_INTERVAL": 1,
        **smtp_server.env(),
    }
    web = processes.start_daphne(tmp_path / "web.log", **env)
    worker = processes.start_listening_worker(tmp_path / "worker.log", **env)
    try:
        visitor = Visitor(web.url)
        visitor.log_in(user.username, PASSWORD)
        task_id = visitor.start_export()
        wait_until(lambda: visitor.task(task_id)["done"] > 0, 60, 0.01)

        horse = processes.work_horse_pid(worker)
        os.kill(horse, signal.SIGSTOP)  # mid-export while Redis goes away
        redis.stop()
        wait_until(lambda: "Redis is unreachable" in worker.output(), 60)
        assert visitor.get("/healthz").status_code == 503
        os.kill(horse, signal.SIGCONT)

        # The export needs only the database: it finishes while Redis is still down.
        finished = wait_until(lambda: visitor.finished_task(task_id), 120)
        assert finished["status"] == "succeeded", worker.output()[-3000:]
        wait_until(lambda: not processes.work_horse_pid(worker), 60)
        assert not list((media_root / "exports" / "tmp").glob("*.part"))
        assert worker.alive() and web.alive()

        # Redis comes back empty (no persistence): the worker registers again by itself.
        private_redis.append(EmbeddedRedis(port=redis.port).start())
        wait_until(lambda: "Redis is reachable again" in worker.output(), 60)
        wait_until(lambda: visitor.get("/healthz").status_code == 200, 30)
        again = visitor.start_export()
        assert wait_until(lambda: visitor.finished_task(again), 120)["status"] == "succeeded"
        assert visitor.get(finished["download_url"]).status_code == 200
        assert worker.alive() and web.alive()
    finally:
        web.stop()
        worker.stop()


def test_a_worker_started_while_redis_is_down_waits_for_it_then_runs_exports(
    private_redis, user, media_root, smtp_server, tmp_path
):
    """As when a machine boots, or a supervisor restarts the worker, during an outage: RQ's
    start-up raised and rqworker exited."""
    redis = private_redis[0]
    redis.stop()
    env = {"REDIS_URL": redis.url, "MEDIA_ROOT": media_root, **smtp_server.env()}
    worker = processes.start_worker(tmp_path / "worker.log", **env)
    try:
        wait_until(lambda: "Redis is unreachable (start-up)" in worker.output(), 60)
        assert worker.alive(), worker.output()
        private_redis.append(EmbeddedRedis(port=redis.port).start())
        wait_until(lambda: "Listening on" in worker.output(), 60)

        web = processes.start_daphne(tmp_path / "web.log", **env)
        try:
            visitor = Visitor(web.url)
            visitor.log_in(user.username, PASSWORD)
            task_id = visitor.start_export()
            assert wait_until(lambda: visitor.finished_task(task_id), 60)["status"] == "succeeded"
        finally:
            web.stop()
    finally:
        worker.stop()
