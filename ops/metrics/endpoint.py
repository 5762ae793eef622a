"""The /metrics view: who may read the figures, and the two registries it writes out."""

import hmac
import ipaddress

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ops.metrics import PROCESS, SHARED

FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def _from_loopback(request):
    """A client on this machine that came through no proxy (a proxy could be relaying anyone)."""
    if any(header in request.headers for header in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _bearer_token(authorization):
    """The credentials of an ``Authorization: Bearer <token>`` header, whatever the scheme's
    case (RFC 9110: schemes are case-insensitive); None for another scheme."""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip(" ").encode()


@never_cache
def metrics(request):
    authorization = request.headers.get("Authorization", "")
    if authorization:
        token = settings.METRICS_TOKEN
        offered = _bearer_token(authorization)
        if not token or offered is None or not hmac.compare_digest(offered, token.encode()):
            return HttpResponseForbidden()
    elif not _from_loopback(request):
        raise Http404
    body = generate_latest(PROCESS) + generate_latest(SHARED)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
