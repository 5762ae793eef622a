"""Endpoints every task kind shares: a task's state, cancel, dismiss, and the polling API.

Each kind's own pages (exports/views.py, imports/views.py) use ``back``, ``own_task_or_404``
and, for a result file, usertasks/results.py."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from usertasks import notifications as event_sources
from usertasks import selectors, services


def back(request):
    """Redirect to the page the form was on, if it is ours; else to the user's profile."""
    target = request.POST.get("next") or request.headers.get("referer", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect("profile", username=request.user.username)


def own_task_or_404(request, task_id):
    task = selectors.user_task(request.user, task_id)
    if task is None:
        raise Http404("No such task.")
    return task


@login_required
@require_GET
@never_cache
def status(request, task_id):
    return JsonResponse(own_task_or_404(request, task_id).as_message())


@login_required
@require_POST
def cancel(request, task_id):
    task = own_task_or_404(request, task_id)
    try:
        services.cancel_task(task=task)
    except services.TaskError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.info(request, str(task.kind_spec.cancelled))
    return back(request)


@login_required
@require_POST
def dismiss(request, task_id):
    """Close a finished task's card for good. tasks.js posts here and expects 204; without
    JavaScript the form submits and the page comes back without the card."""
    task = own_task_or_404(request, task_id)
    try:
        services.dismiss_task(task=task)
    except services.TaskError as refusal:
        if request.headers.get("x-requested-with") == "fetch":
            return HttpResponse(str(refusal), status=409)
        messages.error(request, str(refusal))
    if request.headers.get("x-requested-with") == "fetch":
        return HttpResponse(status=204)
    return back(request)


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
