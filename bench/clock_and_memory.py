"""Clock skew and a full Redis, with production timings: what a dead task and a full Redis cost.

    python bench/clock_and_memory.py {sqlite,postgres} [--posts 300000] [--offset +9s]

1. A worker whose clock is ``--offset`` off Redis's (libfaketime; within CLOCK_SKEW_MAX, so it
   takes jobs) is SIGKILLed mid-export and a normal worker starts: seconds until the task is
   failed (README "Reliability" promises under 60; a worker 90 s ahead took 121 s before).
2. Two workers, one running an export, while Redis reaches maxmemory (noeviction): whether each
   stays up, whether the export succeeds, and seconds from making room to the next export done.
"""

import argparse
import json
import os
import shutil
import tempfile
import time
from glob import glob
from pathlib import Path

from harness import machine, setup_django, start_redis, user_with_posts

parser = argparse.ArgumentParser()
parser.add_argument("vendor", choices=["sqlite", "postgres"])
parser.add_argument("--posts", type=int, default=300_000)
parser.add_argument("--offset", default="+9s")
options = parser.parse_args()

redis_server = start_redis()
setup_django(options.vendor, TASKS_PER_HOUR=0)

import redis  # noqa: E402

from exports.services import export_launch  # noqa: E402
from testkit import processes  # noqa: E402
from testkit.redis_memory import fill_redis  # noqa: E402
from testkit.waiting import wait_until  # noqa: E402
from usertasks.models import Task  # noqa: E402
from usertasks.services import TaskError  # noqa: E402

out = Path(tempfile.mkdtemp(prefix="bench-clock-memory-"))
media = out / "media"
users = [user_with_posts(f"bench_cm{i}", options.posts) for i in range(3)]
libfaketime = next(iter(sorted(glob("/usr/lib/*/faketime/libfaketime.so.1"))), None)


def worker(name, **env):
    return processes.start_listening_worker(out / f"{name}.log", MEDIA_ROOT=media, **env)


def status(task):
    task.refresh_from_db()
    return task.status


def active(task):
    return status(task) in (Task.Status.QUEUED, Task.Status.RUNNING)


def killed_skewed_worker():
    if libfaketime is None:
        return {"skipped": "libfaketime is not installed (apt-get install faketime)"}
    doomed = worker("skewed", LD_PRELOAD=libfaketime, FAKETIME=options.offset)
    task = export_launch(user=users[0])
    wait_until(lambda: status(task) == Task.Status.RUNNING, 60, 0.01)
    processes.kill_worker_and_horse(doomed)
    killed = time.monotonic()
    successor = worker("successor")
    try:
        wait_until(lambda: not active(task), 300, 0.2)
        took = time.monotonic() - killed
    finally:
        successor.stop()
    return {
        "offset": options.offset,
        "status": task.status,
        "error_code": task.error_code,
        "failed_after_kill_s": round(took, 1),
    }


def full_redis():
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    workers = [worker(f"full-{i}") for i in (1, 2)]
    try:
        running = export_launch(user=users[1])
        wait_until(lambda: status(running) == Task.Status.RUNNING, 60, 0.01)
        fill_redis(client)
        full = time.monotonic()
        said = "Redis is full and refuses writes"
        wait_until(lambda: all(said in w.output() or not w.alive() for w in workers), 120)
        wait_until(lambda: not active(running), 300, 0.2)
        try:
            export_launch(user=users[2])
            refused = False
        except TaskError:
            refused = True
        alive_while_full = sum(w.alive() for w in workers)
        held = time.monotonic() - full
        client.config_set("maxmemory", 0)
        room = time.monotonic()
        wait_until(lambda: all("Redis is reachable again" in w.output() for w in workers), 120)
        resumed = time.monotonic() - room
        after = export_launch(user=users[2])
        wait_until(lambda: not active(after), 300, 0.2)
        return {
            "workers_alive_while_full": alive_while_full,
            "seconds_full": round(held, 1),
            "running_export": running.status,
            "new_export_refused_while_full": refused,
            "workers_resumed_after_room_s": round(resumed, 1),
            "next_export_done_after_room_s": round(time.monotonic() - room, 1),
            "next_export": after.status,
        }
    finally:
        client.close()
        for w in workers:
            w.stop()


try:
    figures = {"killed_skewed_worker": killed_skewed_worker(), "full_redis": full_redis()}
finally:
    redis_server.stop()
    shutil.rmtree(out, ignore_errors=True)
print(
    json.dumps(
        {"machine": machine(), "vendor": options.vendor, "posts": options.posts, **figures},
        indent=2,
    )
)
