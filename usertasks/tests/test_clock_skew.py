"""A worker whose clock is 90 s off (libfaketime) next to a normal one, while an export runs.

RQ scores a running job's registry entry and heartbeats with its worker's clock and judges them
with the reader's: before, a worker 90 s ahead failed the others' running exports at its first
maintenance pass, and one 90 s behind had its own running export failed by the others within
seconds (`worker_lost`, file deleted). Now it takes no job, runs no maintenance, and says why.
"""

import json
import os
import re
import signal
import time
from contextlib import suppress
from glob import glob

import pytest

from blog.seeding import seed_posts
from exports.services import export_launch
from ops import clock
from testkit import processes
from testkit.factories import UserFactory
from testkit.missing import missing
from testkit.processes import FAST_DETECTION, work_horse_pid
from testkit.waiting import wait_until
from usertasks.models import Task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault, pytest.mark.slow]

# Debian's package faketime, under the machine's multiarch directory.
LIBFAKETIME = next(iter(sorted(glob("/usr/lib/*/faketime/libfaketime.so.1"))), None)


def faked_clock(offset):
    """Environment running a process with its clocks ``offset`` off.

    The monotonic clock is shifted too: with DONT_FAKE_MONOTONIC, libfaketime 0.9.10 makes
    Python's time.sleep fail (EINVAL from clock_nanosleep). Either way a lock acquired with a
    timeout never returns, as RQ's teardown does (joining its pub/sub thread): the test kills
    this worker instead of stopping it."""
    if LIBFAKETIME is None:
        missing("libfaketime is not installed (apt-get install faketime)")
    return {"LD_PRELOAD": LIBFAKETIME, "FAKETIME": offset}


def status_of(task):
    task.refresh_from_db()
    return task.status


def settled(task):
    return status_of(task) not in (Task.Status.QUEUED, Task.Status.RUNNING)


def record_of(connection, name):
    """What the worker called ``name`` last recorded of its clock (ops/clock.py), or None."""
    raw = connection.hget(clock.WORKER_CLOCKS, name)
    return raw and json.loads(raw)


@pytest.mark.parametrize("offset", ["-90s", "+90s"])
def test_a_worker_whose_clock_is_off_stands_aside_and_fails_no_running_export(
    offset, client, redis_client, media_root, smtp_server, tmp_path, settings
):
    settings.TASKS_PER_HOUR = 0
    first, second = UserFactory(), UserFactory()
    seed_posts(author=first, count=100_000, seed=31)
    seed_posts(author=second, count=10, seed=32)  # queued while the first is held
    env = {**FAST_DETECTION, "MEDIA_ROOT": media_root, **smtp_server.env()}
    normal = processes.start_listening_worker(tmp_path / "normal.log", **env)
    skewed = None
    frozen = []
    try:
        # An export held on the normal worker, whose parent keeps beating for it. Its mail waits
        # 5 s on the SMTP server, so it is caught running however fast its posts stream: on a
        # quiet machine 100,000 took 0.13 s, too fast for a progress report, which this wait
        # asked for too and then never saw.
        smtp_server.stall = 5
        running = export_launch(user=first)
        wait_until(lambda: status_of(running) == Task.Status.RUNNING, 60, 0.005)
        frozen.append(work_horse_pid(normal))
        os.kill(frozen[-1], signal.SIGSTOP)
        smtp_server.stall = 0  # for the exports after it

        skewed = processes.start_worker(
            tmp_path / "skewed.log", "--name", "skewed", **env, **faked_clock(offset)
        )
        started = time.monotonic()
        wait_until(lambda: "Listening on" in skewed.output(), 60)
        waiting = export_launch(user=second)
        # Three of its maintenance intervals by Redis's clock, or until it took the export.
        since = None

        def stood_aside_long_enough():
            nonlocal since
            record = record_of(redis_client, "skewed")
            if record is None:
                return False
            since = since or record["seen"]
            return record["seen"] - since >= 3 * FAST_DETECTION["RQ_MAINTENANCE_INTERVAL"]

        wait_until(
            lambda: status_of(waiting) != Task.Status.QUEUED or stood_aside_long_enough(), 60
        )
        if horse := work_horse_pid(skewed):  # it took the export: hold that one too
            frozen.append(horse)
            os.kill(horse, signal.SIGSTOP)
        # Operators see it: both workers live, one standing aside, and by how much.
        health = client.get("/healthz?deep=1").json()
        metrics = client.get("/metrics").content.decode()
        assert status_of(running) == Task.Status.RUNNING, (
            f"the normal worker's export ended {running.status} ({running.error_code}) "
            f"{time.monotonic() - started:.1f} s after the skewed worker started"
        )

        os.kill(frozen[0], signal.SIGCONT)
        wait_until(lambda: settled(running), 60)
        assert (running.status, running.error_code) == (Task.Status.SUCCEEDED, "")
        wait_until(lambda: settled(waiting), 60)
        assert (waiting.status, waiting.error_code) == (Task.Status.SUCCEEDED, ""), (
            f"the second export ended {waiting.status} ({waiting.error_code}) "
            f"{time.monotonic() - started:.1f} s after the skewed worker started"
        )
        assert waiting.pk in normal.output() and waiting.pk not in skewed.output()

        said = [line for line in skewed.output().splitlines() if "taking no jobs" in line]
        assert len(said) == 1, skewed.output()
        assert "clock is " + offset[0] in said[0] and "NTP" in said[0]
        assert skewed.alive()
        assert (health["workers_live"], health["workers_clock_skewed"]) == (2, 1)
        assert 'microblog_rq_workers_clock_skewed{queue="default"} 1.0' in metrics
        shown = re.search(r'clock_offset_seconds\{worker="skewed"\} (\S+)', metrics)
        assert abs(float(shown.group(1)) - int(offset[:-1])) < 5
        assert abs(record_of(redis_client, "skewed")["offset"] - int(offset[:-1])) < 5
    finally:
        for horse in frozen:
            with suppress(ProcessLookupError):
                os.kill(horse, signal.SIGCONT)
        normal.stop()
        if skewed:
            skewed.kill(signal.SIGKILL)
            skewed.stop()
