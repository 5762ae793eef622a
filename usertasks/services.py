"""Launch, cancel and retry tasks: the policy (one active task per kind, a rate limit, who may
cancel) on top of the state machine in usertasks/transitions.py."""

import logging
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from redis.exceptions import RedisError
from rq import Callback, Queue
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

import redis_clients
from usertasks import reasons, transitions
from usertasks.kinds import TaskKind
from usertasks.models import Task

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser as User

logger = logging.getLogger(__name__)


class TaskError(Exception):
    """A user-facing refusal; ``str()`` is the message, in the active language."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return str(self.message)


class TaskAlreadyActive(TaskError):
    def __init__(self, kind: TaskKind):
        super().__init__(kind.already_active)


class TaskRateLimited(TaskError):
    def __init__(self, kind: TaskKind, *, limit: int, retry_at: datetime):
        super().__init__(kind.rate_limited)
        self.limit = limit
        self.retry_at = retry_at

    def __str__(self):
        moment = timezone.localtime(self.retry_at)
        when = f"{formats.time_format(moment, 'TIME_FORMAT')} {moment.tzname()}"
        return self.message % {"limit": self.limit, "time": when}


class TaskLaunchFailed(TaskError):
    def __init__(self, task: Task):
        super().__init__(task.kind_spec.text(reasons.QUEUE_FAILED))
        self.task = task


class TaskNotActive(TaskError):
    def __init__(self):
        super().__init__(_("This task has already finished."))


def get_queue() -> Queue:
    return redis_clients.queue("default")


def launch_task(
    *, user: "User", kind: TaskKind, args: tuple = (), job_timeout: int | None = None
) -> Task:
    """Create a queued Task and publish ``kind.job(task_id, *args)`` once the row is committed.

    The job id is the Task pk and the job reaches Redis only after the commit, so no worker can
    start a job whose row it cannot read. A Redis failure ends the task ``failed`` and raises
    TaskLaunchFailed, the same inside a caller's transaction as outside: Redis is asked now,
    not only at commit, when the caller has long told the user that the task started.
    """
    _check_rate_limit(user=user, kind=kind)
    try:
        task = transitions.create_task(task_id=uuid.uuid4().hex, user=user, kind=kind.name)
    except IntegrityError:
        if Task.objects.of(user).active().filter(kind=kind.name).exists():
            raise TaskAlreadyActive(kind) from None
        raise
    queue = get_queue()
    try:
        queue.connection.ping()
    except (RedisError, OSError):
        logger.exception("could not reach the queue for task %s", task.pk)
        transitions.move(task, to=Task.Status.FAILED, error_code=reasons.QUEUE_FAILED)
        raise TaskLaunchFailed(task) from None
    transaction.on_commit(partial(_enqueue, queue, task, kind, args, job_timeout))
    if task.status == Task.Status.FAILED:  # outside a transaction, on_commit ran at once
        raise TaskLaunchFailed(task)
    return task


def _enqueue(queue: Queue, task: Task, kind: TaskKind, args: tuple, job_timeout: int | None):
    try:
        queue.enqueue(
            kind.job,
            task.pk,
            *args,
            job_id=task.pk,
            job_timeout=job_timeout,
            description=f"{kind.name} {task.pk}",
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            on_failure=Callback("usertasks.reconciliation.on_job_failure"),
        )
    except (RedisError, OSError):
        # Redis went away between the check and the commit: the open pages learn it.
        logger.exception("could not enqueue task %s", task.pk)
        transitions.move(task, to=Task.Status.FAILED, error_code=reasons.QUEUE_FAILED)


def _check_rate_limit(*, user, kind: TaskKind) -> None:
    limit = settings.TASKS_PER_HOUR
    if not limit:
        return
    window = timedelta(hours=1)
    # Tasks that never ran (e.g. refused while Redis was down) do not count.
    counted = (
        Task.objects.of(user)
        .filter(kind=kind.name, created_at__gte=timezone.now() - window)
        .exclude(status=Task.Status.FAILED, started_at=None)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
    )
    recent = list(counted[:limit])
    if len(recent) >= limit:
        # The oldest of them leaves the window then; rounded up, as the time shows no seconds.
        retry_at = recent[-1] + window
        retry_at = retry_at.replace(second=0, microsecond=0) + timedelta(minutes=1)
        raise TaskRateLimited(kind, limit=limit, retry_at=retry_at)


def cancel_task(*, task: Task, by_staff: bool = False) -> Task:
    """Mark the task cancelled, then stop its job: a queued job is cancelled, a running one
    is killed through RQ's stop-job command (its late reports can no longer change the row)."""
    notice = reasons.CANCELLED_BY_STAFF if by_staff else reasons.CANCELLED
    if not task.is_active or not transitions.move(
        task, to=Task.Status.CANCELLED, notice_code=notice
    ):
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


def retry_task(*, task: Task) -> Task:
    if task.status != Task.Status.FAILED:
        raise TaskError(_("Only failed tasks can be retried."))
    if not task.kind_spec.relaunch:
        raise TaskError(_("This kind of task cannot be retried."))
    return import_string(task.kind_spec.relaunch)(user=task.user)


def dismiss_task(*, task: Task) -> None:
    """The owner closes a finished task's card, on every page and every later visit."""
    if task.is_active:
        raise TaskError(_("An active task cannot be dismissed; cancel it first."))
    transitions.dismiss(task)
