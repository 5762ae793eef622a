"""Export endpoints: thin — check the user and input, call a service, respond."""

from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from exports import flashes, reasons, selectors, services
from exports import notifications as event_sources
from exports.models import Task


def _back(request):
    """Redirect to the page the form was on, if it is ours; else to the user's profile."""
    target = request.POST.get("next") or request.headers.get("referer", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect("profile", username=request.user.username)


class ChunkedFileResponse(FileResponse):
    """A FileResponse that under ASGI reads its file one block at a time (64 KiB, the block
    size Django's ASGI handler sets). Django's own reads a synchronous file whole into a list
    before sending it (StreamingHttpResponse.__aiter__); with serverpatches.backpressure each block
    then waits for the client."""

    async def __aiter__(self):
        read = sync_to_async(self.file_to_stream.read, thread_sensitive=False)
        while block := await read(self.block_size):
            yield block


def _own_task_or_404(request, task_id):
    task = selectors.user_task(request.user, task_id)
    if task is None:
        raise Http404("No such task.")
    return task


@login_required
@require_http_methods(["GET", "POST"])
def exports(request):
    if request.method == "GET":
        page = selectors.history_page(request.user, request.GET)
        return render(request, "exports/history.html", {"tasks": page})
    try:
        task = services.export_launch(user=request.user)
    except services.TaskError as refusal:
        messages.error(request, str(refusal))
    else:
        flashes.task_started(request, task)
    return _back(request)


@login_required
@require_GET
@never_cache
def status(request, task_id):
    return JsonResponse(_own_task_or_404(request, task_id).as_message())


@login_required
@require_GET
def download(request, task_id):
    """The owner's file. Behind nginx (EXPORT_DOWNLOAD_ACCEL_PREFIX set) Django only checks and
    names it and nginx sends the bytes; without nginx it goes a block at a time."""
    task = _own_task_or_404(request, task_id)
    response = file_response(task)
    if response is None:
        return render(request, "exports/expired.html", _gone(task), status=410)
    return response


def file_response(task: Task) -> HttpResponse | None:
    """A response that sends ``task``'s file, or None when the file is gone. The caller has
    checked who may have it: the owner here, staff in the admin (exports/admin.py)."""
    if task.status != Task.Status.SUCCEEDED or not task.result:
        raise Http404("This export has no file.")
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


def _gone(task: Task) -> dict:
    """Why the file is gone: staff deleted it, or it outlived the retention period."""
    return {
        "deleted_by_staff": task.notice_code == reasons.FILE_DELETED_BY_STAFF,
        "deleted_at": task.purged_at,
        "retention_days": settings.EXPORT_RETENTION_DAYS,
    }


@login_required
@require_POST
def cancel(request, task_id):
    task = _own_task_or_404(request, task_id)
    try:
        services.cancel_task(task=task)
    except services.TaskError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.info(request, str(task.kind.cancelled))
    return _back(request)


@login_required
@require_POST
def dismiss(request, task_id):
    """Close a finished task's card for good. tasks.js posts here and expects 204; without
    JavaScript the form submits and the page comes back without the card."""
    task = _own_task_or_404(request, task_id)
    try:
        services.dismiss_task(task=task)
    except services.TaskError as refusal:
        if request.headers.get("x-requested-with") == "fetch":
            return HttpResponse(str(refusal), status=409)
        messages.error(request, str(refusal))
    if request.headers.get("x-requested-with") == "fetch":
        return HttpResponse(status=204)
    return _back(request)


@login_required
@require_GET
@never_cache
def notifications(request):
    """The Flask microblog's polling API, for clients without a websocket: each registered
    source's entries (``{"name", "data", "timestamp"}``), those of tasks newer than ``since``."""
    try:
        since = float(request.GET.get("since", 0))
    except ValueError:
        since = 0.0
    if not 0 <= since <= MAX_SINCE:  # also NaN
        since = 0.0
    entries = [
        entry
        for source in event_sources.sources()
        for entry in source.notifications(request.user, since)
    ]
    entries.sort(key=lambda entry: entry["timestamp"])
    return JsonResponse(entries, safe=False)


MAX_SINCE = 253402300799  # 9999-12-31T23:59:59Z, the last moment a datetime holds
