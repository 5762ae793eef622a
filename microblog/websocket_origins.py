"""Which pages may open a websocket: Django's CSRF origin rule, so scheme, host and port count.

Channels' AllowedHostsOriginValidator compares only the Origin's host with ALLOWED_HOSTS, so a
page on any port of an allowed host (http://localhost:9999) could read a logged-in user's tasks.
Here the Origin must be the site's own, ``<scheme>://<Host header>`` with that host in
ALLOWED_HOSTS, which holds on whatever port the site is served; or be listed exactly (scheme,
host and port) in CSRF_TRUSTED_ORIGINS (``https://*.example.com`` for subdomains) or be
SITE_URL's origin. The handshake is read as a Django request so that ``get_host()`` and
``is_secure()`` apply Django's own settings: daphne puts no scheme in a websocket scope, so
behind a TLS proxy the scheme comes from SECURE_PROXY_SSL_HEADER, as for pages.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.http.request import is_same_domain


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _handshake_request(scope):
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    return ASGIRequest({**scope, "method": "GET", "scheme": scheme}, body_file=None)


def origin_allowed(scope):
    request = _handshake_request(scope)
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    try:
        own_origin = f"{request.scheme}://{request.get_host()}"
    except DisallowedHost:
        own_origin = None
    trusted = settings.CSRF_TRUSTED_ORIGINS
    exact = {own_origin, _origin(settings.SITE_URL), *(o for o in trusted if "*" not in o)}
    if origin in exact:
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    subdomain_patterns = [urlsplit(o) for o in trusted if "*" in o]
    return any(
        pattern.scheme == parsed.scheme
        and is_same_domain(parsed.netloc, pattern.netloc.removeprefix("*"))
        for pattern in subdomain_patterns
    )


class SameOriginValidator:
    """ASGI middleware for websockets: refuses a handshake from any origin but the allowed ones."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        await receive()  # websocket.connect
        await send({"type": "websocket.close"})  # before accept: daphne answers 403
