"""Export files are kept EXPORT_RETENTION_DAYS days; workers purge older ones hourly."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from exports import transitions
from exports.models import Task

logger = logging.getLogger(__name__)


def purge_expired_exports(*, now: datetime | None = None) -> int:
    """Delete the files of tasks that finished more than EXPORT_RETENTION_DAYS ago."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EXPORT_RETENTION_DAYS)
    expired = Task.objects.filter(finished_at__lt=cutoff, purged_at=None).exclude(result="")
    purged = sum(purge_task_file(task=task) for task in expired)
    if purged:
        logger.info("purged %d expired export file(s)", purged)
    return purged


def purge_task_file(*, task: Task) -> bool:
    """Delete ``task``'s file now (retention, or staff in the admin); False if already gone."""
    if not task.result or task.purged_at:
        return False
    task.result.delete(save=False)
    return transitions.record_purge(task)
