"""Every patch to daphne's, Twisted's, autobahn's and CPython's internals, installed together.

daphne, as released, serves this site badly at its scale (docs/architecture.md, "Private touch
points"): each module here changes one private part of it, and each says why. ``install()``,
called once by ``microblog/asgi.py``, installs them when daphne is what serves, unless the
``SERVER_PATCHES`` setting is off. A patch whose libraries are not the versions it was written
for (``versions.KNOWN``), or whose copy of a daphne function no longer matches daphne's source,
is refused with one ERROR line: daphne then runs as released in that respect.
"""

import logging
import sys

from django.conf import settings

from serverpatches import (
    access_log,
    backpressure,
    closing_sockets,
    connection_checks,
    quiet_collections,
    request_bodies,
    request_limits,
    versions,
    websocket_frames,
)
from serverpatches.backpressure import ResponseBackpressure
from serverpatches.quiet_collections import CountSends

__all__ = ["CountSends", "ResponseBackpressure", "install"]

logger = logging.getLogger(__name__)

PATCHES = (
    access_log,  # daphne's access log in the same one-event-per-line format
    request_bodies,  # daphne's Twisted would parse every upload once more
    request_limits,  # daphne held every request body in memory, whatever its size
    backpressure,  # daphne held every response body in memory until the client took it
    connection_checks,  # daphne's sweeps over every socket at once held the loop 20-70 ms
    quiet_collections,  # a full collection with 5,000 sockets held it 0.5-1.3 s
    websocket_frames,  # daphne queued every client frame without bound
    closing_sockets,  # a message sent while daphne closed a socket raised in its consumer
)

_done = False


def install():
    """Install every patch the running versions allow; once per process, and only if daphne is
    what serves (its server module is imported before it imports the application)."""
    global _done
    if _done or "daphne.server" not in sys.modules:
        return
    _done = True
    if not settings.SERVER_PATCHES:
        logger.warning("server patches are off (SERVER_PATCHES): daphne runs as released")
        return
    running = versions.found()
    for patch in PATCHES:
        refusals = versions.unknown(patch.REQUIRES, running)
        refusals += versions.changed_copies(getattr(patch, "COPIES", {}))
        if refusals:
            logger.error(
                "%s NOT installed (%s): %s", _name(patch), patch.WITHOUT, "; ".join(refusals)
            )
        else:
            patch.install()


def _name(patch):
    return patch.__name__.rpartition(".")[2]
