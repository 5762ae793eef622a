"""daphne's full garbage collections, moved to moments when it sends nothing.

A full collection visits every object the collector tracks. With 5,000 open websockets daphne
tracks ~870,000 (174 per socket), and one full collection holds its event loop for 0.5-1.3 s on
this 2-core machine. CPython starts one whenever the objects that outlived the young
generations have grown by a quarter, so at a moment chance picks: in a burst of task states, it
held every state of that moment for as long (bench/RESULTS.md §5).

Here daphne's automatic full collections are off (the young generations' are as they were) and
a check on its event loop, once a second, runs one in a second in which daphne sent nothing to
any client, once memory has grown by a quarter since the last (CPython's own measure, taken on
pymalloc's count of allocated blocks, which any thread may read). Memory stays bounded: after
it has doubled, or after ``LONGEST`` seconds, a collection runs even in a busy second.
"""

import gc
import logging
import sys
import time

logger = logging.getLogger(__name__)

REQUIRES = ("daphne", "twisted", "cpython")
WITHOUT = "CPython runs daphne's full collections whenever it likes"

CHECK_PERIOD = 1.0  # seconds
GROWTH = 1.25  # a quarter more blocks: a collection is due
BOUND = 2.0  # twice the blocks: a collection runs, busy or not
LONGEST = 600.0  # seconds without a full collection at most
NEVER = 2**31 - 1  # middle-generation collections before an automatic full one (CPython: 10)


class QuietCollector:
    """Decides once a period whether to collect now. ``sent`` counts the messages the site sent
    to clients (``CountSends``); ``clock`` and ``blocks`` are injectable for tests."""

    def __init__(self, clock=time.monotonic, blocks=sys.getallocatedblocks, collect=gc.collect):
        self.clock, self.blocks, self._collect = clock, blocks, collect
        self.sent = self.sent_at_check = 0
        self.last_collection = clock()
        self.blocks_after = blocks()

    def check(self) -> bool:
        now = self.clock()
        quiet = self.sent == self.sent_at_check
        self.sent_at_check = self.sent
        grown = self.blocks() / max(1, self.blocks_after)
        overdue = now - self.last_collection >= LONGEST
        if (quiet and grown >= GROWTH) or grown >= BOUND or overdue:
            self.collect(now, "quiet" if quiet else "busy")
            return True
        return False

    def collect(self, now, moment) -> None:
        started = time.perf_counter()
        self._collect()
        self.last_collection = now
        self.blocks_after = self.blocks()
        logger.info(
            "full collection in a %s second: %.0f ms",
            moment,
            (time.perf_counter() - started) * 1000,
        )


collector = QuietCollector()


class CountSends:
    """ASGI middleware: counts every message the site sends to a client, HTTP or websocket."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def counting_send(message):
            collector.sent += 1
            await send(message)

        return await self.app(scope, receive, counting_send)


def install() -> None:
    """Check every CHECK_PERIOD on daphne's reactor; idempotent."""
    server_module = sys.modules["daphne.server"]
    if getattr(server_module, "quiet_collections", False):
        return
    server_module.quiet_collections = True
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, NEVER)
    reactor = server_module.reactor

    def tick():
        try:
            collector.check()
        finally:
            reactor.callLater(CHECK_PERIOD, tick)

    reactor.callLater(CHECK_PERIOD, tick)
