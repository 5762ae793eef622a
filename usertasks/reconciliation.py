"""Settling Task rows with what RQ knows: a job that died without reporting still ends its task.

Three routes lead here, and all declare the same reason (reasons.WORKER_LOST) through the same
move: RQ's failure callback, the worker right after a job ends, and every maintenance pass.
"""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string
from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from ops.clock import redis_now
from usertasks import last_words, reasons, transitions
from usertasks.kinds import all_kinds
from usertasks.models import Task

logger = logging.getLogger(__name__)

DEQUEUE_GRACE_SECONDS = 0.5


def on_job_failure(job, connection, exc_type, exc_value, traceback) -> None:
    """RQ's failure callback: a job that failed before it could report (or was abandoned by a
    dead worker) still ends its Task as failed."""
    close_old_connections()  # the job may have failed because the database dropped it
    task = Task.objects.filter(pk=job.id).first()
    if task is not None and task.is_active:
        reason = reasons.WORKER_LOST if traceback is None else reasons.of_error(exc_value)
        reason = last_words.left_on(job, reason)
        transitions.move(task, to=Task.Status.FAILED, error_code=reason)


def reconcile_active_tasks(
    *, connection: Redis | None = None, task_ids: list[str] | None = None
) -> int:
    """Fail every active Task whose RQ job is gone, finished or abandoned by a dead worker.

    Workers run this at start, after each job and every maintenance interval, so a SIGKILLed
    worker or work-horse, or a Redis that lost its data, cannot leave a task active for ever;
    it also deletes the unfinished files of tasks that are no longer active.
    """
    if connection is None:
        from usertasks.services import get_queue

        connection = get_queue().connection
    now = redis_now(connection)  # one clock for every worker's beats (ops/clock.py)
    reconciled = 0
    if task_ids is None:
        enqueue_grace = timedelta(seconds=settings.TASK_ENQUEUE_GRACE)
        stale = Task.objects.active().filter(created_at__lt=now - enqueue_grace)
    else:  # tasks whose jobs just ended: no enqueue to wait for
        stale = Task.objects.active().filter(pk__in=task_ids)
    for task in stale:
        verdict = _verdict(task, connection, now)
        if verdict is not None:
            status, reason = verdict
            if transitions.move(task, to=status, error_code=reason):
                logger.warning("reconciled task %s to %s: %s", task.pk, status, reason)
                reconciled += 1
    if task_ids is None:
        _sweep_kinds()
    else:
        _clean_up_after(task_ids)
    return reconciled


def _clean_up_after(task_ids: list[str]) -> None:
    """What the jobs of these tasks left behind, now that they are over and their horse gone."""
    for task in Task.objects.filter(pk__in=task_ids).exclude(status__in=Task.ACTIVE_STATUSES):
        if task.kind_spec.cleanup:
            import_string(task.kind_spec.cleanup)(task)


def _sweep_kinds() -> None:
    for kind in all_kinds():
        if kind.sweep:
            import_string(kind.sweep)()


def run_hourly_hooks() -> None:
    for kind in all_kinds():
        if kind.hourly:
            import_string(kind.hourly)()


def _waiting(job: Job, connection: Redis) -> bool:
    return connection.lpos(Queue(job.origin, connection=connection).key, job.id) is not None


def _verdict(task: Task, connection: Redis, now: datetime) -> tuple[Task.Status, str] | None:
    """What the task's row should say given its RQ job, or None while the job may still run."""
    try:
        job = Job.fetch(task.pk, connection=connection)
    except NoSuchJobError:
        return Task.Status.FAILED, reasons.WORKER_LOST
    lost = Task.Status.FAILED, last_words.left_on(job, reasons.WORKER_LOST)
    status = job.get_status()
    if status == JobStatus.QUEUED and not _waiting(job, connection):
        # A worker killed between popping the job and starting it loses it. A live worker
        # needs milliseconds for that step, so look once more before declaring it lost.
        time.sleep(DEQUEUE_GRACE_SECONDS)
        if job.get_status() == JobStatus.QUEUED and not _waiting(job, connection):
            return lost
        return None
    if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return None
    if status == JobStatus.STARTED:
        beat = job.last_heartbeat
        grace = timedelta(seconds=settings.TASK_HEARTBEAT_GRACE)
        if beat is not None and now - beat.replace(tzinfo=now.tzinfo) < grace:
            return None
        return lost
    if status in (JobStatus.STOPPED, JobStatus.CANCELED):
        return Task.Status.CANCELLED, ""
    # FINISHED or FAILED in RQ while our row is still active: the job died before reporting.
    return lost
