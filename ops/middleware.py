"""RequestIdMiddleware: one id per request, in every log line it causes and in the response."""

import re
import uuid

from ops.logging import request_id_var, request_var

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's or client's id is reused only if it is short and plain: it goes into every log line.
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def request_id_for(request):
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    if WELL_FORMED.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Tags the request's log records with its id and, once authentication ran, its user.

    Sync only: under ASGI Django runs the whole sync middleware chain and the view in one
    thread with one copied context, so the context variables set here reach the view's logs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_for(request)
        id_token = request_id_var.set(request.request_id)
        request_token = request_var.set(request)
        try:
            response = self.get_response(request)
        finally:
            request_var.reset(request_token)
            request_id_var.reset(id_token)
        response[REQUEST_ID_HEADER] = request.request_id
        return response
