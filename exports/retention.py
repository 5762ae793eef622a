"""Export files: kept EXPORT_RETENTION_DAYS days (workers purge older ones hourly, the kind's
``hourly`` hook), and swept when no row claims them. A deleted Task row takes its file along
(usertasks/results.py)."""

import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from exports.partials import partials_dir
from usertasks.models import Task
from usertasks.results import purge_task_file

logger = logging.getLogger(__name__)

EXPORTS_DIR = "exports"
# A file younger than this is left alone even if no row claims it: its job may be storing it
# right now, before the move to succeeded records its name.
ORPHAN_GRACE = timedelta(hours=1)
TASK_ID = re.compile(r"[0-9a-f]{32}")


def purge_expired_exports(*, now: datetime | None = None) -> int:
    """Delete the files of tasks that finished more than EXPORT_RETENTION_DAYS ago (and sweep
    the orphans); returns how many expired files were deleted."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.EXPORT_RETENTION_DAYS)
    expired = Task.objects.filter(finished_at__lt=cutoff, purged_at=None).exclude(result="")
    purged = sum(purge_task_file(task=task, by_staff=False) for task in expired)
    if purged:
        logger.info("purged %d expired export file(s)", purged)
    sweep_orphan_exports(now=now)
    return purged


def sweep_orphan_exports(*, now: datetime | None = None) -> int:
    """Delete stored export files whose task has no row any more and that are older than
    ORPHAN_GRACE (e.g. a job that stored its file after its user was deleted).

    The files are listed before the rows are read, so a task created meanwhile is never
    mistaken for a missing one.
    """
    old = (now or timezone.now()) - ORPHAN_GRACE
    files = {name: task_id for name in _stored_files() if (task_id := _task_id_of(name))}
    known = set(Task.objects.filter(pk__in=set(files.values())).values_list("pk", flat=True))
    removed = 0
    for name, task_id in files.items():
        if task_id not in known and default_storage.get_modified_time(name) < old:
            default_storage.delete(name)
            removed += 1
    if removed:
        logger.info("removed %d orphaned export file(s)", removed)
    return removed


def _stored_files():
    """``exports/<user id>/<task id>.json`` in the storage (the unfinished ones excepted)."""
    if not default_storage.exists(EXPORTS_DIR):
        return
    unfinished = partials_dir().name
    for directory in default_storage.listdir(EXPORTS_DIR)[0]:
        if directory != unfinished:
            for name in default_storage.listdir(f"{EXPORTS_DIR}/{directory}")[1]:
                yield f"{EXPORTS_DIR}/{directory}/{name}"


def _task_id_of(name: str) -> str | None:
    match = TASK_ID.match(name.rsplit("/", 1)[-1])
    return match.group() if match else None
