"""Unfinished export files ("<task id>-<random>.part"): where they live and who removes them.

A job removes its own file when it ends, whatever the outcome. A work-horse killed by a cancel
or by the kernel cannot, so its worker removes the file as soon as the horse is gone, and every
reconciliation pass removes the files of tasks that are no longer active (a SIGKILLed worker).
A failed export must never leave a file behind: on a small disk, one leftover makes every other
user's export fail too.
"""

import logging
import tempfile
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from usertasks.files import sweep_orphans

logger = logging.getLogger(__name__)

SEPARATOR = "-"
SUFFIX = ".part"


def partials_dir() -> Path:
    """Under MEDIA_ROOT, so that finishing an export is a rename on the same file system."""
    path = Path(settings.MEDIA_ROOT) / "exports" / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def create_partial(task_id: str) -> tuple[int, Path]:
    """A new, empty unfinished file for ``task_id``: its open descriptor and its path."""
    fd, name = tempfile.mkstemp(dir=partials_dir(), prefix=f"{task_id}{SEPARATOR}", suffix=SUFFIX)
    return fd, Path(name)


def task_id_of(path: Path) -> str:
    return path.name.split(SEPARATOR, 1)[0]


def discard_partials_of(task_id: str) -> int:
    """Delete the unfinished files of one task (its job is over)."""
    return _unlink(partials_dir().glob(f"{task_id}{SEPARATOR}*{SUFFIX}"))


def _unlink(paths: Iterable[Path]) -> int:
    removed = 0
    for path in paths:
        path.unlink(missing_ok=True)
        removed += 1
    if removed:
        logger.info("removed %d unfinished export file(s)", removed)
    return removed


def clean_up_export(task) -> None:
    """The export kind's ``cleanup``: once its task is over, no unfinished file of it stays."""
    discard_partials_of(task.pk)


def sweep_orphan_partials() -> None:
    """The export kind's ``sweep``: unfinished files whose task is no longer active (a job
    only creates its file once its task is running, so no grace is needed)."""
    removed = sweep_orphans(partials_dir().glob(f"*{SUFFIX}"), task_id_of)
    if removed:
        logger.info("removed %d unfinished export file(s)", removed)
