"""Fault injection on real processes: dead workers, lost Redis data, timeouts, SMTP trouble."""

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest

from blog.seeding import seed_posts
from exports.services import export_launch
from testkit import processes
from testkit.processes import FAST_DETECTION, kill_worker_and_horse, work_horse_pid
from testkit.waiting import wait_until
from usertasks import reasons
from usertasks.models import Task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]


def start_worker(tmp_path, name, media_root, smtp_server, **env):
    env = {**smtp_server.env(), **env}
    return processes.start_listening_worker(tmp_path / f"{name}.log", MEDIA_ROOT=media_root, **env)


def settled(task):
    task.refresh_from_db()
    return not task.is_active


@pytest.fixture
def no_rate_limit(settings):
    settings.TASKS_PER_HOUR = 0


def test_killed_workers_and_work_horses_never_leave_a_task_active(
    user, redis_client, media_root, smtp_server, tmp_path, no_rate_limit
):
    seed_posts(author=user, count=50_000, seed=7)  # 25 chunks of the stream to stop between
    rng = random.Random(20261125)
    # A report after every chunk of the stream: the export advances by counted steps.
    env = {**FAST_DETECTION, "EXPORT_PROGRESS_INTERVAL": 0}
    worker = start_worker(tmp_path, "worker-0", media_root, smtp_server, **env)
    outcomes, mid_export = [], 0
    try:
        for run in range(1, 9):
            task = export_launch(user=user)
            # A point of the export's life: still queued, finished, or some percentage.
            point = {1: -1, 2: 101}.get(run, rng.randrange(0, 100))
            horse = hold_at(worker, task, point)
            mid_export += horse is not None
            if run % 2 and horse:
                os.kill(horse, signal.SIGKILL)  # the work-horse alone, frozen mid-export
            else:
                kill_worker_and_horse(worker)
                worker = start_worker(tmp_path, f"worker-{run}", media_root, smtp_server, **env)
            try:
                wait_until(lambda task=task: settled(task), 60)
            except AssertionError:
                raise AssertionError(
                    f"run {run} killed at {point} ({'horse' if horse else 'worker'}): "
                    f"task still {task.status}\n{worker.output()[-3000:]}"
                ) from None
            outcomes.append((task.status, task.error_code))
        # No unfinished file of a killed export is left behind. The worker that settled the
        # last task removes its file just after: wait for that before stopping it.
        parts = Path(media_root, "exports", "tmp")
        wait_until(lambda: not list(parts.glob("*.part")), 60)
    finally:
        worker.stop()
    assert not Task.objects.active().exists()
    lost = [o for o in outcomes if o[0] == Task.Status.FAILED]
    assert all(error == reasons.WORKER_LOST for _, error in lost), outcomes
    assert {status for status, _ in outcomes} <= {"failed", "succeeded"}, outcomes
    assert mid_export >= 3 and len(lost) >= mid_export, (mid_export, outcomes)


def hold_at(worker, task, point):
    """Let the export run to ``point`` % (-1: while queued, 101: once finished), freeze its
    work-horse there with SIGSTOP and return the horse's pid; None if the task is not running
    then. Between SIGCONT and SIGSTOP the horse moves on by one report (one chunk of posts), so
    where it stops depends on counts, not on the machine's speed."""
    if point < 0:
        return None
    wait_until(lambda: _left_the_queue(task), 60, 0.005)
    horse = work_horse_pid(worker)
    if horse is None or point > 100:
        wait_until(lambda: settled(task), 60)
        return None
    os.kill(horse, signal.SIGSTOP)
    task.refresh_from_db()
    while task.status == Task.Status.RUNNING and task.progress < point:
        os.kill(horse, signal.SIGCONT)
        seen = task.done
        wait_until(lambda seen=seen: _advanced(task, seen), 60, 0.001)
        os.kill(horse, signal.SIGSTOP)
        task.refresh_from_db()
    return horse if task.status == Task.Status.RUNNING else None


def _left_the_queue(task):
    task.refresh_from_db()
    return task.status != Task.Status.QUEUED


def _advanced(task, seen):
    task.refresh_from_db()
    return task.done != seen or not task.is_active


@pytest.mark.longest  # mostly waiting for the dead worker's detection
def test_a_new_export_succeeds_after_a_worker_died_with_production_timings(
    user, redis_client, media_root, smtp_server, tmp_path
):
    """The guarantee itself: with default settings the dead worker's task fails within 60 s."""
    seed_posts(author=user, count=10, seed=8)
    smtp_server.stall = 600  # the export runs, waiting on the mail, until its worker is killed
    worker = start_worker(tmp_path, "doomed", media_root, smtp_server)
    task = export_launch(user=user)
    wait_until(lambda: Task.objects.get(pk=task.pk).status == Task.Status.RUNNING, 30, 0.01)
    kill_worker_and_horse(worker)
    smtp_server.stall = 0

    worker = start_worker(tmp_path, "successor", media_root, smtp_server)
    try:
        started = time.monotonic()
        wait_until(lambda: settled(task), 60, 0.5)
        assert task.status == Task.Status.FAILED
        assert task.error_code == reasons.WORKER_LOST
        print(f"dead worker's task failed {time.monotonic() - started:.1f} s after restart")

        again = export_launch(user=user)
        wait_until(lambda: settled(again), 60)
        assert again.status == Task.Status.SUCCEEDED
    finally:
        worker.stop()


def test_tasks_whose_jobs_redis_lost_end_failed(
    user, redis_client, media_root, smtp_server, tmp_path
):
    task = export_launch(user=user)
    redis_client.flushall()  # Redis restarted without persistence: the job is gone
    worker = start_worker(tmp_path, "worker", media_root, smtp_server, **FAST_DETECTION)
    try:
        wait_until(lambda: settled(task), 60)
    finally:
        worker.stop()
    assert (task.status, task.error_code) == (Task.Status.FAILED, reasons.WORKER_LOST)


def test_an_export_that_hits_its_timeout_fails_with_a_readable_reason(
    user, redis_client, media_root, smtp_server, tmp_path, settings
):
    settings.TASK_TIMEOUT_BASE = 2  # the launcher sets the job's timeout
    smtp_server.stall = 10  # the job hangs on SMTP until its 2 s timeout fires
    worker = start_worker(tmp_path, "worker", media_root, smtp_server)
    try:
        task = export_launch(user=user)
        wait_until(lambda: settled(task), 30)
    finally:
        worker.stop()
    assert (task.status, task.error_code) == (Task.Status.FAILED, reasons.TIMEOUT)
    assert task.error == "The export took too long and was stopped — please try again later."


@pytest.mark.parametrize("fault", ["refused", "down"])
def test_export_succeeds_and_says_so_when_the_email_cannot_be_sent(
    fault, client, user, redis_client, media_root, smtp_server, tmp_path
):
    seed_posts(author=user, count=10, seed=9)
    smtp_server.refuse = fault == "refused"
    nothing_listens = {"EMAIL_PORT": processes.private_port()} if fault == "down" else {}
    worker = start_worker(tmp_path, "worker", media_root, smtp_server, **nothing_listens)
    try:
        task = export_launch(user=user)
        wait_until(lambda: settled(task), 30)
    finally:
        worker.stop()

    assert task.status == Task.Status.SUCCEEDED, worker.output()
    assert task.notice_code == reasons.EMAIL_FAILED
    assert "e-mail could not be sent" in task.notice
    client.force_login(user)
    response = client.get(f"/exports/{task.pk}/download")
    assert len(json.loads(b"".join(response.streaming_content))["posts"]) == 10
