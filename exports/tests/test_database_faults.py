"""PostgreSQL drops connections (a restart, a failover, an idle timeout): workers recover alone.

``pg_terminate_backend`` ends a server session exactly as a database restart does. A worker must
never share a connection across fork, and must replace a broken one before and after each job
and each maintenance pass, so that a blip fails at most the export it hit, and the next export
succeeds through the same worker, without a restart.
"""

import os
import signal
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from blog.seeding import seed_posts
from exports.services import export_launch
from testkit import database, processes
from testkit.factories import TaskFactory, UserFactory
from testkit.waiting import wait_until
from usertasks import reasons
from usertasks.models import Task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]


@pytest.fixture(autouse=True)
def postgresql_only(settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: DATABASE_URL=postgres://... make test (as CI runs)")
    settings.TASKS_PER_HOUR = 0


def start_worker(tmp_path, name, media_root, smtp_server):
    return processes.start_listening_worker(
        tmp_path / f"{name}.log",
        MEDIA_ROOT=media_root,
        **smtp_server.env(),
        **processes.FAST_DETECTION,
    )


def terminate_every_other_backend():
    """What a database restart does to every client (but this test process, which goes on)."""
    database.terminate(database.backends_of_other_processes())


def settled(task):
    task.refresh_from_db()
    return not task.is_active


@pytest.mark.parametrize("which", ["stream", "progress", "both"])
def test_a_dropped_connection_fails_only_that_export_and_the_same_worker_goes_on(
    which, user, redis_client, media_root, smtp_server, tmp_path
):
    seed_posts(author=user, count=200_000, seed=3)
    worker = start_worker(tmp_path, "worker", media_root, smtp_server)
    try:
        task = export_launch(user=user)
        wait_until(lambda: Task.objects.get(pk=task.pk).done > 0, 60, 0.01)
        horse = processes.work_horse_pid(worker)
        os.kill(horse, signal.SIGSTOP)  # hold it mid-stream while its sessions are ended
        try:
            sessions = database.backends_of(horse)
            stream = [pid for pid, query in sessions if query.lstrip().startswith("COPY")]
            progress = [pid for pid, _ in sessions if pid not in stream]
            assert stream and progress, sessions
            chosen = {"stream": stream, "progress": progress, "both": stream + progress}[which]
            database.terminate(chosen)
        finally:
            os.kill(horse, signal.SIGCONT)
        dropped_at = time.monotonic()

        wait_until(lambda: settled(task), 60)
        assert time.monotonic() - dropped_at < 60
        assert task.status == Task.Status.FAILED, worker.output()[-3000:]
        assert task.error_code == reasons.DATABASE_UNAVAILABLE  # the database ended the session
        wait_until(lambda: not list((media_root / "exports" / "tmp").glob("*.part")), 30)

        # Another user's small export: the worker's recovery is the point, not the size.
        other = UserFactory()
        seed_posts(author=other, count=10, seed=5)
        again = export_launch(user=other)
        wait_until(lambda: settled(again), 120)
        assert again.status == Task.Status.SUCCEEDED, worker.output()[-3000:]
        assert again.notice_code != reasons.EMAIL_FAILED
        assert worker.alive()
    finally:
        worker.stop()


def test_idle_workers_whose_connections_the_database_dropped_still_run_the_next_export(
    user, redis_client, media_root, smtp_server, tmp_path
):
    seed_posts(author=user, count=1_000, seed=4)
    workers = []
    try:
        for n in (1, 2):
            # A stale task for the new worker's first maintenance pass, which queries the
            # database; once it is settled the worker is idle with whatever connection it kept.
            stale = stale_task()
            workers.append(start_worker(tmp_path, f"worker-{n}", media_root, smtp_server))
            wait_until(lambda stale=stale: settled(stale), 30)
        for worker in workers:  # an idle worker holds no database session at all
            wait_until(lambda worker=worker: not database.backends_of(worker.pid), 30)

        terminate_every_other_backend()  # what a database restart does

        for _ in workers:
            task = export_launch(user=user)
            wait_until(lambda task=task: settled(task), 60)
            assert task.status == Task.Status.SUCCEEDED, [w.output()[-2000:] for w in workers]
        assert all(worker.alive() for worker in workers)
    finally:
        for worker in workers:
            worker.stop()


def stale_task():
    """An active task whose job Redis never had, created long enough ago to be reconciled."""
    task = TaskFactory(status=Task.Status.QUEUED)
    Task.objects.filter(pk=task.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    return task
