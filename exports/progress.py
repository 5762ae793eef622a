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
from django.utils import timezone
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
    """

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.layer = get_channel_layer()

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

    if not Task.objects.filter(pk=task.pk, status__in=Task.ACTIVE_STATUSES).update(**changes):
        return False
    for field, value in changes.items():
        setattr(task, field, value)
    _mirror_into_job_meta(task)
    _broadcast(task, broadcaster)
    return True


def _mirror_into_job_meta(task):
    job = get_current_job()
    if job is None or job.id != task.pk:
        return
    job.meta.update(status=task.status, progress=task.progress, done=task.done, total=task.total)
    job.save_meta()


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
