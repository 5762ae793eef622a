"""report_progress: the one path by which a task's state changes and reaches its owner.

Every report updates the Task row (only while it is still active, so a cancelled or failed task
can never be revived by a late report), mirrors the state into ``job.meta`` when called from the
job, and sends the absolute state to the owner's Channels group.
"""

import asyncio
import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone
from redis.exceptions import RedisError
from rq import get_current_job

from exports.models import Task

logger = logging.getLogger(__name__)

FINAL_STATUSES = (Task.Status.SUCCEEDED, Task.Status.FAILED, Task.Status.CANCELLED)


def user_group_name(user_id):
    """Group names allow only [A-Za-z0-9._-]: build them from the pk, never the username."""
    return f"user-{int(user_id)}.tasks"


class Broadcaster:
    """Sends group messages on one event loop, so a job reuses one Redis connection.

    ``async_to_sync(group_send)`` per message would build a new loop and connection each time.
    While Redis is unreachable each attempt costs seconds (redis-py retries with backoff), so
    after a failure the job's progress reports skip Redis for ``RETRY_AFTER`` seconds: the
    export goes on at full speed on the database alone, and final states are always tried.
    """

    RETRY_AFTER = 2.0

    def __init__(self, clock=time.monotonic):
        self.loop = asyncio.new_event_loop()
        self.layer = get_channel_layer()
        self.clock = clock
        self.quiet_until = 0.0

    def redis_unavailable(self):
        return self.clock() < self.quiet_until

    def redis_failed(self):
        self.quiet_until = self.clock() + self.RETRY_AFTER

    def send(self, group, message):
        self.loop.run_until_complete(self.layer.group_send(group, message))

    def close(self):
        try:
            self.loop.run_until_complete(self.layer.close_pools())
        finally:
            self.loop.close()


def _one_shot_send(group, message):
    async_to_sync(get_channel_layer().group_send)(group, message)


def report_progress(
    task,
    *,
    status=None,
    done=None,
    total=None,
    error=None,
    notice=None,
    result=None,
    result_size=None,
    broadcaster=None,
):
    """Apply a state change to ``task`` and publish it. Returns False if it was no longer active."""
    now = timezone.now()
    changes = {"updated_at": now}
    if status is not None:
        changes["status"] = status
        if status == Task.Status.RUNNING and task.started_at is None:
            changes["started_at"] = now
        if status in FINAL_STATUSES:
            changes["finished_at"] = now
    if total is not None:
        changes["total"] = total
    if done is not None:
        changes["done"] = done
    if error is not None:
        changes["error"] = str(error)[:500]  # a lazy translation is rendered here
    if notice is not None:
        changes["notice"] = str(notice)[:500]
    if result is not None:
        changes["result"] = result
        changes["result_size"] = result_size
    effective_total = changes.get("total", task.total)
    effective_done = changes.get("done", task.done)
    if status == Task.Status.SUCCEEDED:
        changes["progress"] = 100
    elif effective_total:
        changes["progress"] = min(99, effective_done * 100 // effective_total)

    if not _update_active_row(task, changes, final=status in FINAL_STATUSES):
        return False
    for field, value in changes.items():
        setattr(task, field, value)
    if status in FINAL_STATUSES or broadcaster is None or not broadcaster.redis_unavailable():
        _mirror_into_job_meta(task, broadcaster)
        _broadcast(task, broadcaster)
    return True


def _update_active_row(task, changes, *, final):
    active = Task.objects.filter(pk=task.pk, status__in=Task.ACTIVE_STATUSES)
    try:
        return active.update(**changes)
    except (OperationalError, InterfaceError):
        if not final:
            raise
        # A final state must land even when the database dropped this process's connection
        # (a restart, a failover, pg_terminate_backend): once more, on a new connection.
        logger.warning("database connection lost; reporting task %s again", task.pk)
        connection.close()
        return active.update(**changes)


def _mirror_into_job_meta(task, broadcaster):
    job = get_current_job()
    if job is None or job.id != task.pk:
        return
    job.meta.update(status=task.status, progress=task.progress, done=task.done, total=task.total)
    try:
        job.save_meta()
    except RedisError:  # a Redis outage must not fail an export that needs only the database
        logger.warning("could not save the meta of job %s", job.id, exc_info=True)
        if broadcaster is not None:
            broadcaster.redis_failed()


def _broadcast(task, broadcaster):
    group = user_group_name(task.user_id)
    message = {"type": "task.update", "task": task.as_message()}
    try:
        if broadcaster is not None:
            broadcaster.send(group, message)
        else:
            _one_shot_send(group, message)
    except Exception:
        logger.warning("could not broadcast task %s", task.pk, exc_info=True)
        if broadcaster is not None:
            broadcaster.redis_failed()


class Throttle:
    """Tells a loop when it is time to report: no more than every ``interval`` seconds."""

    def __init__(self, interval, clock=time.monotonic):
        self.interval = interval
        self.clock = clock
        self.last = clock()

    def due(self):
        now = self.clock()
        if now - self.last >= self.interval:
            self.last = now
            return True
        return False
