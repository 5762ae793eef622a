"""Import endpoints: thin — check the user and input, call a service, respond."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from imports.forms import ImportForm
from imports.kinds import IMPORT_POSTS
from imports.services import import_launch
from imports.upload_handler import ArchiveUploadHandler
from usertasks import flashes, selectors
from usertasks.services import TaskError
from usertasks.views import back


def too_large_message() -> str:
    return _("This file is too large: archives are limited to %(limit)s.") % {
        "limit": filesizeformat(settings.IMPORT_MAX_BYTES)
    }


@csrf_exempt  # only until the upload handler is set: _imports checks the token
def imports(request):
    """Django's documented way to change upload handlers: before CSRF reads the body.

    A visitor who is not logged in is sent to log in before anything reads the body: CSRF's
    check would otherwise parse it, and the handler store the file, for nobody."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    request.upload_handlers = [ArchiveUploadHandler(request)]
    return _imports(request)


@csrf_protect
@login_required
@require_http_methods(["GET", "POST"])
def _imports(request):
    if request.method == "GET":
        if request.GET.get("refused") == "too_large":  # from imports/size_guard.py
            messages.error(request, too_large_message())
        history = selectors.history_page(request.user, request.GET, kind=IMPORT_POSTS.name)
        active = selectors.active_task(request.user, IMPORT_POSTS.name)
        context = {"tasks": history, "form": ImportForm(), "active_import": active}
        return render(request, "imports/imports.html", context)
    form = ImportForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            messages.error(request, " ".join(form.errors["archive"]))
        elif form.cleaned_data["archive"].size > settings.IMPORT_MAX_BYTES:
            messages.error(request, too_large_message())  # served without the ASGI guard
        else:
            task = import_launch(user=request.user, upload=form.cleaned_data["archive"])
            flashes.task_started(request, task)
    except TaskError as refusal:
        messages.error(request, str(refusal))
    finally:
        for field in request.FILES:
            for upload in request.FILES.getlist(field):
                upload.discard()  # unless the import took it: then it is no longer there
    return back(request)
