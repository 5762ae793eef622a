"""Uploaded archives: where they wait for their job, and who deletes them.

They live in IMPORT_UPLOAD_DIR (by default MEDIA_ROOT/private/imports: on the volume web and
worker share, in a directory nothing serves), one file per task named after it. Only the job
reads it. The job deletes it when it ends; a work-horse killed by a cancel or the kernel cannot,
so the worker's settle step does (imports/settling.py), and every reconciliation pass deletes
the files of tasks that are over, and files no task claimed within an hour (a request that died
between storing the upload and committing its task).
"""

import logging
import shutil
import uuid
from pathlib import Path

from django.conf import settings

from usertasks.files import sweep_orphans

logger = logging.getLogger(__name__)

SUFFIX = ".json"
INCOMING_SUFFIX = ".incoming"
UNCLAIMED_AFTER = 3600  # seconds


def upload_dir() -> Path:
    path = Path(settings.IMPORT_UPLOAD_DIR or Path(settings.MEDIA_ROOT) / "private" / "imports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_of(task_id: str) -> Path:
    return upload_dir() / f"{task_id}{SUFFIX}"


def receive(upload) -> Path:
    """Store an uploaded file under a name no task claims yet; returns its path."""
    target = upload_dir() / f"{uuid.uuid4().hex}{INCOMING_SUFFIX}"
    if hasattr(upload, "temporary_file_path"):  # already on disk: move, don't copy
        shutil.move(upload.temporary_file_path(), target)
    else:
        with open(target, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
    return target


def discard(task_id: str) -> bool:
    path = path_of(task_id)
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


def sweep_orphan_uploads() -> int:
    """Delete uploads of tasks that are over, and unclaimed ones older than UNCLAIMED_AFTER (a
    request that died between storing the upload and committing its task)."""
    files = (p for p in upload_dir().iterdir() if p.name.endswith((SUFFIX, INCOMING_SUFFIX)))
    removed = sweep_orphans(files, _task_id_of, grace=UNCLAIMED_AFTER)
    if removed:
        logger.info("removed %d leftover import upload(s)", removed)
    return removed


def _task_id_of(path: Path) -> str | None:
    """The task an upload waits for; None for one still arriving (no task claims it yet)."""
    return path.name.removesuffix(SUFFIX) if path.name.endswith(SUFFIX) else None
