"""Backpressure for HTTP response bodies under daphne, which applies none.

daphne writes each body chunk an application sends straight into Twisted's transport buffer,
so a FileResponse is read from disk as fast as the disk allows and held in memory until the
client has taken it: three concurrent downloads of a 235 MB export took daphne to 1.5 GB. This
middleware registers a push producer with the request (Twisted's own flow-control API), so the
next chunk waits while the connection's send buffer is full: memory per download stays about
one chunk plus Twisted's buffer. Production lets nginx send files (X-Accel-Redirect); this keeps
`make run`, or a daphne without nginx, bounded too. Under another server, or until
``install()`` has found the daphne and Twisted it knows, it changes nothing.
"""

import asyncio

from twisted.internet.interfaces import IPushProducer
from twisted.web.http import Request
from zope.interface import implementer

REQUIRES = ("daphne", "twisted")
WITHOUT = "daphne holds response bodies in memory until the client takes them"
_paced = False  # set by install()


def install():
    global _paced
    _paced = True


def _twisted_request(send):
    """daphne's ``send`` is ``partial(server.handle_reply, request)``: that request, or None."""
    args = getattr(send, "args", ())
    return args[0] if args and isinstance(args[0], Request) else None


@implementer(IPushProducer)
class _Gate:
    """Open while the client's connection can take more; Twisted opens and closes it."""

    def __init__(self):
        self.writable = asyncio.Event()
        self.writable.set()

    def pauseProducing(self):
        self.writable.clear()

    def resumeProducing(self):
        self.writable.set()

    def stopProducing(self):
        # The client went away: let the application run to its end (daphne drops the rest).
        self.writable.set()


class ResponseBackpressure:
    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        request = _twisted_request(send) if _paced and scope["type"] == "http" else None
        if request is None:
            return await self.application(scope, receive, send)
        gate = _Gate()

        async def paced_send(message):
            if message["type"] == "http.response.body":
                if message.get("more_body") and request.producer is None and request.channel:
                    request.registerProducer(gate, True)
                await gate.writable.wait()
                if not message.get("more_body"):
                    _unregister(request, gate)
            await send(message)

        try:
            return await self.application(scope, receive, paced_send)
        finally:
            _unregister(request, gate)


def _unregister(request, gate):
    """Take the gate off the request; once the client is gone Twisted has no channel left."""
    if request.producer is gate:
        if request.channel is None:
            request.producer = None
        else:
            request.unregisterProducer()
