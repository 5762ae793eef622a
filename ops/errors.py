"""The site's handler500: a database that went away (a restart, a failover) is a 503 with a
page saying to try again shortly, not a 500. Every other error keeps Django's 500."""

import sys

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils import translation
from django.views.defaults import server_error

from ops.database_outage import went_away

# Views that answer JSON: their clients get JSON in a 503 too.
JSON_VIEWS = {"tasks:status", "healthz"}


def server_error_or_unavailable(request):
    """Called by Django while it handles the uncaught exception, which is sys.exc_info()."""
    error = sys.exc_info()[1]
    if error is None or not went_away(error):
        return server_error(request)
    return unavailable(request)


def unavailable(request):
    if _view_name(request) in JSON_VIEWS:
        response = JsonResponse({"status": "unavailable"}, status=503)
    else:
        # Rendered without the request: its context processors would read the session and
        # the user's tasks from the database that is not there.
        context = {"retry_url": request.get_full_path() if request.method == "GET" else "/"}
        with translation.override(translation.get_language_from_request(request)):
            response = HttpResponse(render_to_string("503.html", context), status=503)
    response["Retry-After"] = str(settings.DATABASE_RETRY_AFTER)
    return response


def _view_name(request):
    try:
        return resolve(request.path_info).view_name
    except Resolver404:
        return None
