"""Bound what a request body can cost daphne: refused early, spooled to disk, read on demand.

Twisted receives a request's whole body before daphne calls the application (into memory below
100 kB, else into a temporary file), and daphne then read all of it at once into its queue for
the application: a 1 GB POST, even an anonymous one, held 1 GB in daphne, and the allocator kept
most of it afterwards. This module patches daphne's request (a Twisted ``http.Request``) and
server so that:

- a body whose Content-Length is over the path's limit is answered 413 as soon as its headers
  are in, before any of it is read (``IMPORT_MAX_BYTES`` for ``POST /imports/``,
  ``REQUEST_MAX_BYTES`` for everything else); a body without one (chunked) is answered 413 the
  moment it passes the limit, and nothing of it reaches the application;
- a body from which nothing arrives for ``REQUEST_BODY_TIMEOUT`` seconds is answered 408;
- after a refusal the rest of the body is read and dropped (so that a browser still sending its
  form can read the answer) until it ends, or for ``REQUEST_BODY_TIMEOUT`` seconds at most;
- the application reads the body from Twisted's file a chunk at a time, as it asks for it,
  instead of from a queue that held all of it.

It depends on daphne's and Twisted's internals (the channel's parsed request line, daphne's
``Server.create_application``, of which ``_create_application`` is a copy), so ``install()``
patches only the versions it knows and otherwise logs one line and leaves daphne as it is
(``serverpatches/tests/test_request_limits.py`` runs a real daphne against it).
"""

import asyncio
import functools
import io
import logging
import sys
import time
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

REQUIRES = ("daphne", "twisted")
COPIES = {
    "daphne.server:Server.create_application": (
        "f1e300b4ecf636c85e1a66250e32af2ebb67728f01919678d43e80c794a79a87"
    )
}
WITHOUT = "request bodies are NOT limited"
IMPORT_PATH = "/imports/"  # imports/urls.py; the only path that takes more than a form
CHUNK = 256 * 1024  # what the application gets per receive()
REASONS = {408: b"Request Timeout", 413: b"Content Too Large"}


def install():
    """Patch daphne's request and server (once); see the docstring."""
    protocol = sys.modules["daphne.http_protocol"]
    if getattr(protocol.WebRequest, "bodies_limited", False):
        return
    from daphne.server import Server

    request = protocol.WebRequest
    request.gotLength = _wrap(request.gotLength, _got_length)
    request.handleContentChunk = _wrap(request.handleContentChunk, _content_chunk)
    request.requestReceived = _wrap(request.requestReceived, _request_received)
    request.connectionLost = _wrap(request.connectionLost, _connection_lost)
    _create_application.replaces = Server.create_application  # what versions.changed_copies reads
    Server.create_application = _create_application
    request.bodies_limited = True


def _wrap(original, replacement):
    @functools.wraps(original)
    def method(self, *args):
        return replacement(self, original, *args)

    return method


def limit_for(method, path):
    """The most bytes a request body may have: an import's archive, or a form."""
    if method == b"POST" and unquote(path.split(b"?", 1)[0].decode("latin-1")) == IMPORT_PATH:
        return settings.IMPORT_MAX_BYTES
    return settings.REQUEST_MAX_BYTES


# Twisted's Request, in the order the channel calls it: gotLength once the headers are in,
# handleContentChunk for each piece of body, requestReceived at its end (then daphne's process).


def _got_length(self, original, length):
    original(self, length)
    channel = self.channel
    self.body_limit = limit_for(getattr(channel, "_command", b""), getattr(channel, "_path", b""))
    self.body_received = 0
    self.body_refused = False
    self.body_timer = None
    if length is not None and length > self.body_limit:
        logger.info("refused a body of %d bytes (limit %d) by its length", length, self.body_limit)
        _refuse(self, 413)
    elif length != 0:
        self.body_arrived = time.monotonic()
        _watch(self, settings.REQUEST_BODY_TIMEOUT)


def _content_chunk(self, original, data):
    self.body_arrived = time.monotonic()
    if self.body_refused:
        return
    self.body_received += len(data)
    if self.body_received > self.body_limit:
        logger.info("refused a body over %d bytes while it arrived", self.body_limit)
        _refuse(self, 413)
        return
    original(self, data)


def _request_received(self, original, command, path, version):
    _stop_watching(self)
    if getattr(self, "body_refused", False):
        self.channel.loseConnection()  # answered already; the rest of the body was dropped
        return
    original(self, command, path, version)


def _connection_lost(self, original, reason):
    _stop_watching(self)
    original(self, reason)


def _watch(self, seconds):
    from twisted.internet import reactor

    self.body_timer = reactor.callLater(seconds, _check_stall, self, seconds)


def _stop_watching(self):
    timer = getattr(self, "body_timer", None)
    if timer is not None and timer.active():
        timer.cancel()
    self.body_timer = None


def _check_stall(self, seconds):
    """Nothing arrived for ``seconds``: 408, or, after a refusal, end the connection."""
    self.body_timer = None
    idle = time.monotonic() - self.body_arrived
    if self.body_refused:
        self.channel.transport.abortConnection()
    elif idle < seconds:
        _watch(self, seconds - idle)
    else:
        logger.info("timed out a body after %d of its bytes", self.body_received)
        _refuse(self, 408)
        self.channel.loseConnection()


def _refuse(self, status):
    """Answer now, before the application sees the request, and drop the rest of the body."""
    self.body_refused = True
    self.content.close()
    self.content = io.BytesIO()
    self.requestHeaders.removeHeader(b"expect")  # Twisted would send "100 Continue" after this
    page = _page(status, self.body_limit, _language(self.requestHeaders)).encode()
    self.channel.transport.write(
        b"HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n%s" % (status, REASONS[status], len(page), page)
    )
    self.channel.persistent = False
    _stop_watching(self)
    if status == 413:  # the connection ends with the body, or this long after the answer
        _watch(self, settings.REQUEST_BODY_TIMEOUT)


def _language(headers):
    """The language the site would answer this browser in (LocaleMiddleware's choice)."""
    request = HttpRequest()
    accept = headers.getRawHeaders(b"accept-language")
    if accept:
        request.META["HTTP_ACCEPT_LANGUAGE"] = accept[0].decode("latin-1")
    for cookie in headers.getRawHeaders(b"cookie") or ():
        request.COOKIES.update(parse_cookie(cookie.decode("latin-1")))
    return translation.get_language_from_request(request)


@functools.lru_cache
def _page(status, limit, language):
    with translation.override(language):
        if status == 408:
            title = _("The upload stopped")
            message = _("Nothing arrived for a while, so the server stopped waiting.")
            back = None
        elif limit == settings.IMPORT_MAX_BYTES:
            # The import page's own sentence (imports/views.py), one catalog entry for both:
            # the server's patches import no app.
            message = _("This file is too large: archives are limited to %(limit)s.") % {
                "limit": filesizeformat(limit)
            }
            title, back = _("File too large"), IMPORT_PATH
        else:
            title = _("Request too large")
            message = _("Requests are limited to %(limit)s.") % {"limit": filesizeformat(limit)}
            back = "/"
        context = {"title": title, "message": message, "back": back, "language": language}
        return render_to_string("microblog/refused_body.html", context)


class SpooledBody(asyncio.Queue):
    """The application's receive(): the body read from Twisted's file as the application asks,
    then what daphne queues itself (``http.disconnect``). daphne's own copy of the body, which
    it would have queued whole, is empty (``_create_application``) and is dropped."""

    def __init__(self, body):
        super().__init__()
        self.body = body
        body.seek(0)

    async def get(self):
        if self.body is not None and self.empty():
            chunk = self.body.read(CHUNK)
            more = len(chunk) == CHUNK
            if not more:
                self._close()
            return {"type": "http.request", "body": chunk, "more_body": more}
        return await super().get()

    def put_nowait(self, message):
        if message["type"] == "http.request":
            return
        self._close()
        super().put_nowait(message)

    def _close(self):
        if self.body is not None:
            self.body.close()
            self.body = None


def _create_application(self, protocol, scope):
    """daphne 4.2.3's ``Server.create_application``, but an HTTP request's body is handed over
    as a ``SpooledBody`` and daphne's request keeps an empty one for its own loop."""
    assert "application_instance" not in self.connections[protocol]
    input_queue = SpooledBody(protocol.content) if scope["type"] == "http" else asyncio.Queue()
    scope.setdefault("asgi", {"version": "3.0"})
    application_instance = self.application(
        scope=scope,
        receive=input_queue.get,
        send=functools.partial(self.handle_reply, protocol),
    )
    if protocol not in self.connections:
        return None
    if scope["type"] == "http":
        protocol.content = io.BytesIO()
    self.connections[protocol]["application_instance"] = asyncio.ensure_future(
        application_instance,
        loop=asyncio.get_event_loop(),
    )
    return input_queue
