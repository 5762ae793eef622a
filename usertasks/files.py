"""Files a job keeps beside its task (an unfinished export, an upload waiting for its import),
named after the task, and the sweep that deletes those no active task needs.

A job deletes its own files when it ends. A work-horse killed by a cancel or the kernel cannot,
nor can a SIGKILLed worker: a kind's ``sweep`` hook (usertasks/kinds.py), run on every
maintenance pass, calls ``sweep_orphans`` on its files.
"""

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from usertasks.models import Task

logger = logging.getLogger(__name__)


def sweep_orphans(
    paths: Iterable[Path], task_id_of: Callable[[Path], str | None], *, grace: float = 0
) -> int:
    """Delete the files among ``paths`` that no active task needs; returns how many went.

    ``task_id_of(path)`` names the task a file belongs to, or None for a file no task claims
    yet. A file whose task is over goes at once. One whose task has no row (deleted, or not
    committed yet) or that no task claims goes once it is ``grace`` seconds old: a request may
    be creating its task right now. The files are listed before the rows are read, so a task
    created meanwhile is never mistaken for a missing one.
    """
    claims = {path: task_id_of(path) for path in paths}
    statuses = dict(
        Task.objects.filter(pk__in={t for t in claims.values() if t}).values_list("pk", "status")
    )
    old = time.time() - grace
    removed = 0
    for path, task_id in claims.items():
        status = statuses.get(task_id)
        if status in Task.ACTIVE_STATUSES or (status is None and _mtime(path) > old):
            continue
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # gone meanwhile: nothing to delete
        return time.time()
