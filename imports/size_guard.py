"""Refuses an import upload over IMPORT_MAX_BYTES before Django stores any of it.

Under the daphne and Twisted that serverpatches/request_limits.py was tested with, such a body is
answered 413 before the application sees it, so this guard only acts when that patch is off (it
logged that it is) or under another ASGI server.

Django reads a request's whole body into a temporary file before any view runs (and the
multipart parser then copies each file again), so neither a view nor an upload handler can
refuse a large upload in time, and DATA_UPLOAD_MAX_MEMORY_SIZE does not count files. This ASGI
middleware sits in front of Django: a declared Content-Length over the limit is refused without
reading the body; a body without one (chunked) is counted as it streams, and once over the limit
Django is told the client went away (it then drops what it had read) and the refusal is sent.
The refusal is a redirect to the import page, which says why. It also hands Django the body in
1 MiB messages rather than daphne's 8 KiB ones.
"""

import logging

from django.conf import settings

logger = logging.getLogger(__name__)

PATH = "/imports/"
REFUSED = "/imports/?refused=too_large"
COALESCE = 1 << 20


class ImportSizeGuard:
    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            return await self.application(scope, receive, send)
        limit = settings.IMPORT_MAX_BYTES
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            logger.info("refused an import of %d bytes (limit %d)", declared, limit)
            return await _refuse(send)
        received = 0
        over = False

        async def counting_receive():
            """The body in 1 MiB messages: daphne sends 8 KiB ones, and Django writes each to
            its temporary file through a thread hop (seconds for a 256 MB upload)."""
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            chunks = []
            size = 0
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return message
                chunk = message.get("body", b"")
                chunks.append(chunk)
                size += len(chunk)
                received += len(chunk)
                if received > limit:
                    over = True
                    logger.info("refused an import over %d bytes while it streamed", limit)
                    return {"type": "http.disconnect"}
                if not message.get("more_body", False) or size >= COALESCE:
                    more = message.get("more_body", False)
                    return {"type": "http.request", "body": b"".join(chunks), "more_body": more}

        await self.application(scope, counting_receive, send)
        if over:
            await _refuse(send)


def _content_length(scope):
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send):
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", REFUSED.encode()), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})
