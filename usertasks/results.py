"""A task's result file: sending it, deleting it, and deleting it with its row.

The caller has checked who may have it: the owner (exports/views.py), staff in the admin."""

from functools import partial
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header

from usertasks import reasons, transitions
from usertasks.models import Task


class ChunkedFileResponse(FileResponse):
    """A FileResponse that under ASGI reads its file one block at a time (64 KiB, the block
    size Django's ASGI handler sets). Django's own reads a synchronous file whole into a list
    before sending it (StreamingHttpResponse.__aiter__); with serverpatches.backpressure each block
    then waits for the client."""

    async def __aiter__(self):
        read = sync_to_async(self.file_to_stream.read, thread_sensitive=False)
        while block := await read(self.block_size):
            yield block


def file_response(task: Task) -> HttpResponse | None:
    """A response that sends ``task``'s file, or None when the file is gone. The caller has
    checked who may have it: the owner here, staff in the admin (usertasks/admin.py)."""
    if task.status != Task.Status.SUCCEEDED or not task.result:
        raise Http404("This task has no file.")
    accel_prefix = settings.EXPORT_DOWNLOAD_ACCEL_PREFIX
    try:
        if task.purged_at:
            raise FileNotFoundError(task.result.name)
        if accel_prefix:
            if not task.result.storage.exists(task.result.name):
                raise FileNotFoundError(task.result.name)
        else:
            handle = task.result.open("rb")
    except FileNotFoundError:
        return None
    if not accel_prefix:
        return ChunkedFileResponse(
            handle, as_attachment=True, filename="posts.json", content_type="application/json"
        )
    response = HttpResponse(content_type="application/json")
    response["Content-Disposition"] = content_disposition_header(True, "posts.json")
    response["X-Accel-Redirect"] = accel_prefix + quote(task.result.name)
    return response


def purge_task_file(*, task: Task, by_staff: bool) -> bool:
    """Delete ``task``'s file now (retention, or staff in the admin); False if already gone.
    Its owner is told which of the two it was."""
    if not task.result or task.purged_at:
        return False
    task.result.delete(save=False)
    if by_staff:
        return transitions.record_purge(task, notice_code=reasons.FILE_DELETED_BY_STAFF)
    return transitions.record_purge(task, notice_code=reasons.FILE_EXPIRED)


@receiver(post_delete, sender=Task, dispatch_uid="usertasks.results.delete_file_with_its_task")
def delete_file_with_its_task(sender, instance: Task, **kwargs) -> None:
    """A deleted Task row (its user deleted, in the admin or elsewhere) takes its file along,
    once the deletion is committed: a rolled-back deletion keeps both."""
    if instance.result and not instance.purged_at:
        transaction.on_commit(partial(default_storage.delete, instance.result.name))
