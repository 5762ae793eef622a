"""The only places where a Task is created, cancelled, retried or reconciled with RQ."""

import logging
import time
import uuid
from datetime import timedelta
from functools import partial

import django_rq
from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from redis.exceptions import RedisError
from rq import Callback, Queue
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

from exports.models import Task
from exports.partials import discard_orphan_partials
from exports.progress import report_progress
from microblog.models import Post

logger = logging.getLogger(__name__)

EXPORT_TASK_NAME = "export_posts"
# User-facing texts are stored in Task rows as shown: in the request's language when a request
# causes them, else (worker, maintenance) in the owner's preferred language.
EXPORT_DESCRIPTION = _("Exporting posts…")
QUEUE_FAILED_REASON = _("The task could not be queued — please try again in a moment.")
WORKER_LOST_REASON = _("the worker stopped unexpectedly — please try again")
FAILURE_REASON = _("The export failed because of an internal error — please try again.")
CANCELLED_NOTICE = _("Cancelled.")
DEQUEUE_GRACE_SECONDS = 0.5


class TaskError(Exception):
    """A user-facing refusal; ``str()`` is the message to show."""


class TaskAlreadyActive(TaskError):
    def __init__(self):
        super().__init__(_("An export task is currently in progress."))


class TaskRateLimited(TaskError):
    def __init__(self, limit):
        message = ngettext(
            "You can start at most %(limit)d export per hour. Please try again later.",
            "You can start at most %(limit)d exports per hour. Please try again later.",
            limit,
        )
        super().__init__(message % {"limit": limit})


class TaskLaunchFailed(TaskError):
    pass


class TaskNotActive(TaskError):
    def __init__(self):
        super().__init__(_("This task has already finished."))


def get_queue():
    return django_rq.get_queue("default")


def launch_task(*, user, name, description, func, args=(), job_timeout=None):
    """Record a Task and enqueue ``func(task_id, *args)`` once the row is committed.

    The job id is ours (the Task pk), so the row exists before any worker can see the job.
    If enqueueing fails the row ends ``failed`` and TaskLaunchFailed is raised: never an
    orphan active row.
    """
    task = Task(id=uuid.uuid4().hex, name=name, description=str(description), user=user)
    try:
        with transaction.atomic():
            task.save(force_insert=True)
    except IntegrityError:
        if Task.objects.of(user).active().filter(name=name).exists():
            raise TaskAlreadyActive from None
        raise
    transaction.on_commit(partial(_enqueue, task, func, args, job_timeout))
    if task.status == Task.Status.FAILED:
        raise TaskLaunchFailed(task.error)
    return task


def _enqueue(task, func, args, job_timeout):
    try:
        get_queue().enqueue(
            func,
            task.pk,
            *args,
            job_id=task.pk,
            job_timeout=job_timeout,
            description=task.description,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            on_failure=Callback(on_job_failure),
        )
    except (RedisError, OSError):
        logger.exception("could not enqueue task %s", task.pk)
        report_progress(task, status=Task.Status.FAILED, error=QUEUE_FAILED_REASON)


def on_job_failure(job, connection, exc_type, exc_value, traceback):
    """RQ's failure callback: a job that failed before it could report (or was abandoned by a
    dead worker) still ends its Task as failed."""
    close_old_connections()  # the job may have failed because the database dropped it
    task = Task.objects.select_related("user").filter(pk=job.id).first()
    if task is not None and task.is_active:
        reason = WORKER_LOST_REASON if traceback is None else FAILURE_REASON
        with translation.override(task.user.preferred_language):
            report_progress(task, status=Task.Status.FAILED, error=reason)


def export_timeout(post_count):
    """Seconds an export of ``post_count`` posts may run: generous, but scaled to its size."""
    return settings.EXPORT_TIMEOUT_BASE + post_count // settings.EXPORT_TIMEOUT_POSTS_PER_SECOND


def export_launch(*, user):
    limit = settings.EXPORTS_PER_HOUR
    # Exports that never ran (e.g. refused while Redis was down) do not count.
    recent = (
        Task.objects.of(user)
        .filter(name=EXPORT_TASK_NAME, created_at__gte=timezone.now() - timedelta(hours=1))
        .exclude(status=Task.Status.FAILED, started_at=None)
    )
    if limit and recent.count() >= limit:
        raise TaskRateLimited(limit)
    # Counting a big user's posts takes a noticeable fraction of the export: count once, here,
    # and hand the figure to the job for its progress total.
    post_count = Post.objects.filter(author=user).count()
    return launch_task(
        user=user,
        name=EXPORT_TASK_NAME,
        description=EXPORT_DESCRIPTION,
        func="exports.jobs.export_posts",
        args=(post_count,),
        job_timeout=export_timeout(post_count),
    )


def cancel_task(*, task):
    """Mark the task cancelled, then stop its job: a queued job is cancelled, a running one
    is killed through RQ's stop-job command (its late reports can no longer change the row)."""
    if not report_progress(task, status=Task.Status.CANCELLED, notice=CANCELLED_NOTICE):
        raise TaskNotActive
    connection = get_queue().connection
    try:
        job = Job.fetch(task.pk, connection=connection)
        if job.get_status() == JobStatus.STARTED:
            send_stop_job_command(connection, task.pk)
        else:
            job.cancel()
    except (NoSuchJobError, InvalidJobOperation):
        pass
    except RedisError:
        logger.warning("could not stop the job of task %s", task.pk, exc_info=True)
    return task


def retry_task(*, task):
    if task.status != Task.Status.FAILED:
        raise TaskError(_("Only failed tasks can be retried."))
    return export_launch(user=task.user)


def purge_expired_exports(*, now=None):
    """Delete export files older than EXPORT_RETENTION_DAYS."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.EXPORT_RETENTION_DAYS)
    purged = 0
    expired = Task.objects.filter(finished_at__lt=cutoff, purged_at=None).exclude(result="")
    for task in expired:
        task.result.delete(save=False)
        Task.objects.filter(pk=task.pk).update(purged_at=now)
        purged += 1
    if purged:
        logger.info("purged %d expired export file(s)", purged)
    return purged


def reconcile_active_tasks(*, connection=None, task_ids=None):
    """Fail every active Task whose RQ job is gone, finished or abandoned by a dead worker.

    Workers run this at start, after each job and every maintenance interval, so a SIGKILLed
    worker or work-horse, or a Redis that lost its data, cannot leave a task active for ever;
    it also deletes the unfinished files of tasks that are no longer active.
    """
    connection = connection or get_queue().connection
    now = timezone.now()
    reconciled = 0
    if task_ids is None:
        enqueue_grace = timedelta(seconds=settings.TASK_ENQUEUE_GRACE)
        stale = Task.objects.active().filter(created_at__lt=now - enqueue_grace)
    else:  # tasks whose jobs just ended: no enqueue to wait for
        stale = Task.objects.active().filter(pk__in=task_ids)
    stale = stale.select_related("user")
    for task in stale:
        verdict = _verdict(task, connection, now)
        if verdict is not None:
            status, reason = verdict
            with translation.override(task.user.preferred_language):
                reported = report_progress(task, status=status, error=reason)
            if reported:
                logger.warning("reconciled task %s to %s: %s", task.pk, status, reason)
                reconciled += 1
    discard_orphan_partials(_still_active)
    return reconciled


def _still_active(task_ids):
    return set(Task.objects.active().filter(pk__in=task_ids).values_list("pk", flat=True))


def _waiting(job, connection):
    return connection.lpos(Queue(job.origin, connection=connection).key, job.id) is not None


def _verdict(task, connection, now):
    try:
        job = Job.fetch(task.pk, connection=connection)
    except NoSuchJobError:
        return Task.Status.FAILED, WORKER_LOST_REASON
    status = job.get_status()
    if status == JobStatus.QUEUED and not _waiting(job, connection):
        # A worker killed between popping the job and starting it loses it. A live worker
        # needs milliseconds for that step, so look once more before declaring it lost.
        time.sleep(DEQUEUE_GRACE_SECONDS)
        if job.get_status() == JobStatus.QUEUED and not _waiting(job, connection):
            return Task.Status.FAILED, WORKER_LOST_REASON
        return None
    if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return None
    if status == JobStatus.STARTED:
        beat = job.last_heartbeat
        grace = timedelta(seconds=settings.TASK_HEARTBEAT_GRACE)
        if beat is not None and now - beat.replace(tzinfo=now.tzinfo) < grace:
            return None
        return Task.Status.FAILED, WORKER_LOST_REASON
    if status in (JobStatus.STOPPED, JobStatus.CANCELED):
        return Task.Status.CANCELLED, ""
    # FINISHED or FAILED in RQ while our row is still active: the job died before reporting.
    return Task.Status.FAILED, WORKER_LOST_REASON
