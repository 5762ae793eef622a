"""Spread daphne's connection timeout checks over its 2-second period.

Every 2 seconds daphne's ``Server.timeout_checker`` calls ``check_timeouts()`` on every open
connection in one go, on the event loop: the websocket and HTTP timeouts, and a ping to each
websocket idle for ``--ping-interval``. With 5,000 websockets that sweep blocked the loop for
21-73 ms every 2 s on a 2-core machine, and the task states that arrived meanwhile waited: it
was the tail of the progress latency (bench/RESULTS.md §5). Here the same checks run a slice
at a time, ``SLICES`` times per period, so each connection is still checked every 2 s and the
loop is never held for more than a slice.
"""

import functools
import math
import sys

PERIOD = 2.0  # seconds: daphne's own (daphne.server.Server.run schedules the first sweep)
SLICES = 20


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


def spread_timeout_checks():
    """Make daphne's timeout sweep incremental; idempotent. Does nothing unless daphne is what
    serves (its server module is imported by then, before it schedules the first sweep)."""
    server_module = sys.modules.get("daphne.server")
    if server_module is None:
        return
    server = server_module.Server
    if getattr(server.timeout_checker, "spread", False):
        return

    @functools.wraps(server.timeout_checker)
    def timeout_checker(self):
        rounds = self.__dict__.setdefault("timeout_rounds", Rounds())
        for protocol in rounds.next_slice(self.connections):
            protocol.check_timeouts()
        server_module.reactor.callLater(PERIOD / SLICES, self.timeout_checker)

    timeout_checker.spread = True
    server.timeout_checker = timeout_checker
