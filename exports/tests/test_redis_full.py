"""Redis reaches maxmemory (noeviction) while an export runs: workers wait, then resume.

Before, every write a worker makes (its heartbeat, a dequeue) raised OutOfMemoryError, which
was not among the errors it rode out: both workers quit within seconds, and the running
export stayed "running" until a new worker started.
"""

import os
import signal
import time

import pytest
import redis
from redis.exceptions import OutOfMemoryError

from blog.seeding import seed_posts
from testkit import processes
from testkit.factories import PASSWORD
from testkit.processes import FAST_DETECTION
from testkit.redis_memory import fill_redis
from testkit.visitor import Visitor
from testkit.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault, pytest.mark.slow]

FULL = "Redis is full and refuses writes"


def test_workers_ride_out_a_full_redis_and_resume_once_there_is_room(
    private_redis, user, media_root, smtp_server, tmp_path
):
    seed_posts(author=user, count=100_000, seed=41)
    server = private_redis[0]
    env = {
        **FAST_DETECTION,
        "REDIS_URL": server.url,
        "MEDIA_ROOT": media_root,
        "TASKS_PER_HOUR": 0,
        **smtp_server.env(),
    }
    web = processes.start_daphne(tmp_path / "web.log", **env)
    workers = [
        processes.start_listening_worker(tmp_path / f"worker-{i}.log", **env) for i in (1, 2)
    ]
    client = redis.Redis.from_url(server.url)
    try:
        visitor = Visitor(web.url)
        visitor.log_in(user.username, PASSWORD)
        task_id = visitor.start_export()
        wait_until(lambda: visitor.task(task_id)["done"] > 0, 60, 0.01)
        busy = next(w for w in workers if processes.work_horse_pid(w))
        horse = processes.work_horse_pid(busy)
        os.kill(horse, signal.SIGSTOP)  # mid-export while Redis fills up

        fill_redis(client)
        with pytest.raises(OutOfMemoryError):  # every write, however small
            client.hset("filler:small", "a", "b")
        full_at = time.monotonic()
        # Each worker hits the refusal (a beat, a dequeue), or quits on it.
        wait_until(lambda: all(FULL in w.output() or not w.alive() for w in workers), 60)
        gone = [w.output()[-2000:] for w in workers if not w.alive()]
        after = time.monotonic() - full_at
        assert not gone, f"{len(gone)} worker(s) quit {after:.1f} s after Redis filled:\n{gone[0]}"

        os.kill(horse, signal.SIGCONT)
        # The export needs only the database: it ends while Redis is still full.
        finished = wait_until(lambda: visitor.finished_task(task_id), 120)
        assert finished["status"] == "succeeded", busy.output()[-3000:]
        # A task asked for meanwhile is refused with a reason, not left queued.
        refused = visitor.post("/exports/", {"next": "/exports/"})
        assert "could not be queued" in refused.text
        assert all(w.alive() for w in workers)

        client.config_set("maxmemory", 0)  # room again
        room_at = time.monotonic()
        wait_until(lambda: all("Redis is reachable again" in w.output() for w in workers), 60)
        again = visitor.start_export()
        assert wait_until(lambda: visitor.finished_task(again), 120)["status"] == "succeeded"
        print(
            f"workers stayed up through a full Redis; both resumed "
            f"{time.monotonic() - room_at:.1f} s after room was made (with the next export done)"
        )
        assert all(w.alive() for w in workers) and web.alive()
    finally:
        client.close()
        web.stop()
        for worker in workers:
            worker.stop()
