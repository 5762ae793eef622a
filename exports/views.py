"""Export endpoints: thin — check the user and input, call a service, respond."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from exports.services import export_launch
from usertasks import flashes, reasons, selectors
from usertasks.models import Task
from usertasks.results import file_response
from usertasks.services import TaskError
from usertasks.views import back, own_task_or_404


@login_required
@require_http_methods(["GET", "POST"])
def exports(request):
    if request.method == "GET":
        page = selectors.history_page(request.user, request.GET)
        return render(request, "exports/history.html", {"tasks": page})
    try:
        task = export_launch(user=request.user)
    except TaskError as refusal:
        messages.error(request, str(refusal))
    else:
        flashes.task_started(request, task)
    return back(request)


@login_required
@require_GET
def download(request, task_id):
    """The owner's file. Behind nginx (EXPORT_DOWNLOAD_ACCEL_PREFIX set) Django only checks and
    names it and nginx sends the bytes; without nginx it goes a block at a time."""
    task = own_task_or_404(request, task_id)
    response = file_response(task)
    if response is None:
        return render(request, "exports/expired.html", _gone(task), status=410)
    return response


def _gone(task: Task) -> dict:
    """Why the file is gone: staff deleted it, or it outlived the retention period."""
    return {
        "deleted_by_staff": task.notice_code == reasons.FILE_DELETED_BY_STAFF,
        "deleted_at": task.purged_at,
        "retention_days": settings.EXPORT_RETENTION_DAYS,
    }
