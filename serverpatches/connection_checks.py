"""Spread daphne's two periodic sweeps over all its connections, a slice at a time.

daphne runs two sweeps on its event loop, each over every open connection in one go:
``Server.timeout_checker`` every 2 s (the websocket and HTTP timeouts, and a ping to each
websocket idle for ``--ping-interval``) and ``Server.application_checker`` every second (reaps
the application instances of closed connections). With 5,000 websockets on a busy 2-core
machine the first held the loop for 21-73 ms and the second for 6-20 ms, and the task states
that arrived meanwhile waited: they were the tail of the progress latency. Twentieths of the
first still held it for up to 53 ms (bench/RESULTS.md §5). Here both run a hundredth of the
connections at a time, each connection still checked once per period.

``check_application`` is a copy of daphne's checker for one connection: ``COPIES`` holds the
fingerprint of the source it was copied from, and ``install()`` refuses the patch once daphne's
differs.
"""

import asyncio
import functools
import logging
import math
import sys
import time
from concurrent.futures import CancelledError

logger = logging.getLogger("daphne.server")  # what it logs is daphne's, as daphne words it

REQUIRES = ("daphne", "twisted")
COPIES = {
    "daphne.server:Server.application_checker": (
        "ccb688341a7d0bc13647a7d86815adb6a88af08299e4b0460379ea4d55ade79d"
    )
}
WITHOUT = "daphne sweeps all its connections at once"

SLICES = 100
TIMEOUT_PERIOD = 2.0  # seconds: daphne's own (daphne.server.Server.run schedules both)
APPLICATION_PERIOD = 1.0


class Rounds:
    """Hands out the connections open when a round starts, a slice per call, ``slices`` calls a
    round; a connection closed since the round began is left out, one opened since waits for
    the next round."""

    def __init__(self, slices=SLICES):
        self.slices = slices
        self.left = []
        self.size = 1

    def next_slice(self, connections):
        if not self.left:
            self.left = list(connections)
            self.size = max(1, math.ceil(len(self.left) / self.slices))
        batch = self.left[-self.size :]
        del self.left[-self.size :]
        return [protocol for protocol in batch if protocol in connections]


def install():
    """Make daphne's sweeps incremental; idempotent. Installed before daphne schedules its
    first sweeps (it imports the application first)."""
    server_module = sys.modules["daphne.server"]
    server = server_module.Server
    if getattr(server.timeout_checker, "spread", False):
        return
    reactor = server_module.reactor
    _spread(server, reactor, "timeout_checker", TIMEOUT_PERIOD, _check_timeouts)
    _spread(server, reactor, "application_checker", APPLICATION_PERIOD, check_application)


def _spread(server, reactor, name, period, check):
    """Replace ``server.<name>``, daphne's sweep every ``period`` seconds, with one that calls
    ``check(server, protocol)`` on a slice of the connections every ``period / SLICES``."""

    @functools.wraps(getattr(server, name))
    def checker(self):
        rounds = self.__dict__.setdefault(f"{name}_rounds", Rounds())
        try:
            for protocol in rounds.next_slice(self.connections):
                check(self, protocol)
        finally:  # one connection's failure must not end the checks of all
            reactor.callLater(period / SLICES, getattr(self, name))

    checker.spread = True
    setattr(server, name, checker)


def _check_timeouts(server, protocol):
    protocol.check_timeouts()


def check_application(server, protocol):
    """daphne 4.2.3's ``Server.application_checker`` for one connection: cancel an application
    that outlived its closed connection by ``application_close_timeout``, report how a finished
    one ended, and forget the connection once both are over."""
    details = server.connections[protocol]
    disconnected = details.get("disconnected", None)
    application_instance = details.get("application_instance", None)
    overdue = disconnected and time.time() - disconnected > server.application_close_timeout
    if overdue and application_instance and not application_instance.done():
        logger.warning(
            "Application instance %r for connection %s took too long to shut down and was killed.",
            application_instance,
            repr(protocol),
        )
        application_instance.cancel()
    if application_instance and application_instance.done():
        try:
            exception = application_instance.exception()
        except (CancelledError, asyncio.CancelledError):
            pass
        else:
            if exception:
                if isinstance(exception, KeyboardInterrupt):
                    server.stop()  # the protocol asks the server to exit (tests)
                else:
                    logger.error("Exception inside application: %s", exception, exc_info=exception)
                    if not disconnected:
                        protocol.handle_exception(exception)
        del details["application_instance"]
        application_instance = None
    if not application_instance and disconnected:
        del server.connections[protocol]
