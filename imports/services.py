"""Starting an import: store the upload where only its job reads it, then launch the task."""

from django.conf import settings
from django.db import transaction

from imports import uploads
from imports.kinds import IMPORT_POSTS
from usertasks.models import Task
from usertasks.services import TaskLaunchFailed, launch_task

# Job timeout: generous (a slow disk, a busy database), but an import stuck for good ends.
TIMEOUT_BYTES_PER_SECOND = 100_000


def import_timeout(size: int) -> int:
    return settings.TASK_TIMEOUT_BASE + size // TIMEOUT_BYTES_PER_SECOND


def import_launch(*, user, upload) -> Task:
    """Start importing ``upload`` (an UploadedFile) for ``user``; raises exports' TaskError.

    The file is stored under a provisional name, renamed after the task's id in the same
    transaction that creates the task, and the job is enqueued only once that commits: no job
    ever starts without its file, and a refused launch leaves no file behind. That includes an
    enqueue refused at the commit (a full Redis answers PING but refuses the job): the task
    is failed then, and the caller hears it instead of "started".
    """
    incoming = uploads.receive(upload)
    try:
        with transaction.atomic():
            task = launch_task(
                user=user,
                kind=IMPORT_POSTS,
                job_timeout=import_timeout(upload.size),
            )
            incoming.rename(uploads.path_of(task.pk))
    finally:
        incoming.unlink(missing_ok=True)
    if task.status == Task.Status.FAILED:
        uploads.path_of(task.pk).unlink(missing_ok=True)
        raise TaskLaunchFailed(task)
    return task
