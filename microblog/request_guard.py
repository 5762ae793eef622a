"""Refuses requests carrying NUL or undecodable bytes before Django or Channels read them.

PostgreSQL cannot store NUL in text, so a NUL that reached a query (a username in the URL, an
admin filter or object id, a session key from a cookie) raised DataError: a 500. Rather than
patch each view, one ASGI middleware wraps the whole application: it sees every HTTP request and
every websocket handshake before any view, the admin, Django's session middleware or Channels'
AuthMiddlewareStack (which reads the session during the handshake, before any consumer code).
The site is served only over ASGI (daphne), so a Django middleware would still have needed this
for websockets; one guard keeps one rule.

Refused: a path or query string that percent-decodes to NUL or to invalid UTF-8 (Django would
silently turn the latter into U+FFFD), a header value with NUL, and a cookie whose value unquotes
to NUL (``"\\000"`` in a quoted cookie value is NUL). Other header bytes stay: Django reads
headers as Latin-1, so they always decode. HTTP gets Django's plain 400 page; a websocket
handshake is closed before it is accepted, which daphne answers with a 403.
"""

import logging
from urllib.parse import unquote_to_bytes

from django.http.cookie import parse_cookie
from django.views.defaults import ERROR_PAGE_TEMPLATE

logger = logging.getLogger(__name__)

BAD_REQUEST_PAGE = (ERROR_PAGE_TEMPLATE % {"title": "Bad Request (400)", "details": ""}).encode()


def _undecodable(data):
    """True for bytes that cannot become text a database stores: NUL or invalid UTF-8."""
    if b"\x00" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def malformed_part(scope):
    """The name of the first part of the request that cannot be trusted, or None."""
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogatepass")
    if _undecodable(unquote_to_bytes(raw_path)):
        return "path"
    if _undecodable(unquote_to_bytes(scope.get("query_string", b""))):
        return "query string"
    for name, value in scope.get("headers", ()):
        if b"\x00" in value:
            return "header"
        if name == b"cookie" and any(
            "\x00" in key + morsel for key, morsel in parse_cookie(value.decode("latin1")).items()
        ):
            return "cookie"
    return None


class MalformedRequestGuard:
    """ASGI middleware: a 400 (HTTP) or a refused handshake (websocket) for malformed input."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            part = malformed_part(scope)
            if part is not None:
                logger.warning(
                    "refused a %s request: NUL or invalid UTF-8 in its %s", scope["type"], part
                )
                return await _refuse(scope, receive, send)
        return await self.application(scope, receive, send)


async def _refuse(scope, receive, send):
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close"})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": BAD_REQUEST_PAGE})
