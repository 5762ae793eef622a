"""daphne's full collections at moments it sends nothing (serverpatches/quiet_collections.py)."""

import asyncio
import gc
import json
import subprocess
import sys
import types

import pytest

import serverpatches
from serverpatches import quiet_collections
from serverpatches.quiet_collections import LONGEST, CountSends, QuietCollector
from testkit import processes


class Machine:
    """The collector's clock, pymalloc's block count and the collections it ran."""

    def __init__(self):
        self.now = 0.0
        self.blocks = 100_000
        self.collections = 0

    def collector(self):
        return QuietCollector(
            clock=lambda: self.now, blocks=lambda: self.blocks, collect=self.collect
        )

    def collect(self):
        self.collections += 1

    def second(self, collector, *, sent=0, blocks=None):
        self.now += 1
        self.blocks = blocks or self.blocks
        collector.sent += sent
        return collector.check()


def test_a_collection_waits_for_a_second_in_which_nothing_was_sent():
    machine = Machine()
    collector = machine.collector()

    assert not machine.second(collector, sent=40, blocks=130_000), "busy: grown, not doubled"
    assert not machine.second(collector, sent=1)
    assert machine.second(collector), "the first quiet second after a quarter's growth"
    assert machine.collections == 1


def test_a_quiet_second_collects_nothing_until_memory_grew_by_a_quarter():
    machine = Machine()
    collector = machine.collector()

    assert not machine.second(collector, blocks=120_000)
    assert machine.second(collector, blocks=125_000)
    # The next quarter is counted from what the collection left.
    assert not machine.second(collector, blocks=150_000)
    assert machine.second(collector, blocks=157_000)
    assert machine.collections == 2


def test_memory_stays_bounded_on_a_site_that_is_never_quiet():
    machine = Machine()
    collector = machine.collector()

    assert not machine.second(collector, sent=5, blocks=199_000)
    assert machine.second(collector, sent=5, blocks=200_000), "doubled: busy or not"
    while not machine.second(collector, sent=5):
        pass
    assert machine.now == pytest.approx(2 + LONGEST), "and at least every LONGEST seconds"
    assert machine.collections == 2


def test_every_message_sent_to_a_client_counts_as_activity():
    async def app(scope, receive, send):
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "{}"})

    sent = []

    async def send(message):
        sent.append(message)

    before = quiet_collections.collector.sent
    asyncio.run(CountSends(app)({"type": "websocket"}, None, send))

    assert quiet_collections.collector.sent - before == 2
    assert [message["type"] for message in sent] == ["websocket.accept", "websocket.send"]


class Reactor:
    def __init__(self):
        self.calls = []

    def callLater(self, delay, function):  # Twisted's name
        self.calls.append((delay, function))


def test_under_daphne_automatic_full_collections_are_off_and_a_check_runs_every_second(
    monkeypatch,
):
    reactor = Reactor()
    monkeypatch.setitem(sys.modules, "daphne.server", types.ModuleType("daphne.server"))
    sys.modules["daphne.server"].reactor = reactor
    checks = []
    monkeypatch.setattr(quiet_collections.collector, "check", lambda: checks.append(1))
    threshold = gc.get_threshold()
    try:
        quiet_collections.install()
        quiet_collections.install()  # asgi.py may be imported twice: one check
        assert gc.get_threshold() == (*threshold[:2], quiet_collections.NEVER)
        assert len(reactor.calls) == 1
        delay, tick = reactor.calls.pop()
        tick()
    finally:
        gc.set_threshold(*threshold)
    assert delay == quiet_collections.CHECK_PERIOD
    assert checks == [1]
    assert [delay for delay, _ in reactor.calls] == [quiet_collections.CHECK_PERIOD]


def test_outside_daphne_nothing_changes(monkeypatch):
    monkeypatch.delitem(sys.modules, "daphne.server", raising=False)
    threshold = gc.get_threshold()

    serverpatches.install()

    assert gc.get_threshold() == threshold


def reactor_child():
    """In a process of its own: daphne's reactor, the site, then memory that grows by a third
    while nothing is sent. Prints the collector's log lines and CPython's full collections."""
    import json
    import logging

    import daphne.cli  # noqa: F401 - daphne's server and its reactor, before the site
    from twisted.internet import reactor

    import microblog.asgi  # noqa: F401

    lines = []

    class Lines(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())
            reactor.stop()

    logging.getLogger("serverpatches.quiet_collections").addHandler(Lines())
    full_before = gc.get_stats()[2]["collections"]
    kept, blocks = [], sys.getallocatedblocks()
    while sys.getallocatedblocks() < blocks * 1.4:
        kept.append([[] for _ in range(1000)])  # containers: tracked by the collector
    full_allocating = gc.get_stats()[2]["collections"] - full_before
    reactor.callLater(30, reactor.stop)
    reactor.run(installSignalHandlers=False)
    full = gc.get_stats()[2]["collections"] - full_before
    print(json.dumps({"lines": lines, "full_allocating": full_allocating, "full": full}))


def test_under_daphne_a_full_collection_waits_for_a_quiet_second():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from serverpatches.tests.test_quiet_collections import reactor_child; reactor_child()",
        ],
        env=processes.child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    outcome = json.loads(result.stdout.splitlines()[-1])

    assert outcome["full_allocating"] == 0, "CPython collected by itself"
    assert [line.split(":")[0] for line in outcome["lines"]] == [
        "full collection in a quiet second"
    ]
    assert outcome["full"] == 1
