"""Export files are kept EXPORT_RETENTION_DAYS days; workers purge older ones hourly."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from exports import reasons, transitions
from exports.models import Task

logger = logging.getLogger(__name__)


def purge_expired_exports(*, now: datetime | None = None) -> int:
    """Delete the files of tasks that finished more than EXPORT_RETENTION_DAYS ago."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EXPORT_RETENTION_DAYS)
    expired = Task.objects.filter(finished_at__lt=cutoff, purged_at=None).exclude(result="")
    purged = sum(purge_task_file(task=task, by_staff=False) for task in expired)
    if purged:
        logger.info("purged %d expired export file(s)", purged)
    return purged


def purge_task_file(*, task: Task, by_staff: bool) -> bool:
    """Delete ``task``'s file now (retention, or staff in the admin); False if already gone.
    Its owner is told which of the two it was."""
    if not task.result or task.purged_at:
        return False
    task.result.delete(save=False)
    if by_staff:
        return transitions.record_purge(task, notice_code=reasons.FILE_DELETED_BY_STAFF)
    return transitions.record_purge(task, notice_code=reasons.FILE_EXPIRED)
