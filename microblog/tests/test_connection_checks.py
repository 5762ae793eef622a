"""daphne's timeout checks, a slice at a time (microblog/connection_checks.py)."""

import asyncio
import subprocess
import sys
import time

import pytest
import websockets

from microblog.connection_checks import Rounds
from microblog.testing import processes
from microblog.testing.factories import PASSWORD
from microblog.testing.visitor import Visitor


def test_a_round_checks_every_connection_once_in_slices_of_a_twentieth():
    connections = dict.fromkeys(range(1000))
    rounds = Rounds(slices=20)

    slices = [rounds.next_slice(connections) for _ in range(20)]

    assert max(len(batch) for batch in slices) == 50
    assert sorted(protocol for batch in slices for protocol in batch) == list(range(1000))
    assert rounds.next_slice(connections), "the next call starts the next round"


def test_a_connection_closed_mid_round_is_skipped_and_one_opened_waits_for_the_next_round():
    connections = dict.fromkeys(range(40))
    rounds = Rounds(slices=4)
    checked = rounds.next_slice(connections)
    closed = next(protocol for protocol in connections if protocol not in checked)
    del connections[closed]
    connections["opened"] = None

    rest = [protocol for _ in range(3) for protocol in rounds.next_slice(connections)]

    assert closed not in rest and "opened" not in rest
    assert sorted(checked + rest) == sorted(set(range(40)) - {closed})
    assert "opened" in [p for _ in range(4) for p in rounds.next_slice(connections)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.real_login
def test_daphne_still_times_out_every_websocket_with_its_checks_spread(user, tmp_path):
    """Each of 200 sockets is closed by daphne's --websocket_timeout, no sooner: every connection
    is still checked, through the spread checker that asgi.py installs."""
    timeout = 3
    options = ["--websocket_timeout", str(timeout)]
    web = processes.start_daphne(tmp_path / "web.log", options=options)
    try:
        visitor = Visitor(web.url)
        visitor.log_in(user.username, PASSWORD)
        lifetimes = asyncio.run(_lifetimes(web.url, visitor.session_id, count=200))
    finally:
        web.stop()
    assert len(lifetimes) == 200, "daphne left some sockets open past their timeout"
    assert min(lifetimes) >= timeout
    assert "Traceback" not in web.output()


async def _lifetimes(base_url, session_id, count):
    """How long each of ``count`` websockets stayed open until daphne closed it (bounded).

    Opened a few at a time, below daphne's listen backlog. daphne's websocket timeout runs from
    the TCP connection, so on a busy machine it may close a socket before its handshake ends:
    that is daphne closing it too."""
    gate = asyncio.Semaphore(20)

    async def one():
        async with gate:
            opened = time.monotonic()  # daphne counts from the TCP connection, made after this
            try:
                socket = await websockets.connect(
                    base_url.replace("http", "ws", 1) + "/ws/tasks/",
                    origin=base_url,
                    additional_headers={"Cookie": f"sessionid={session_id}"},
                    ping_interval=None,
                )
            except websockets.exceptions.InvalidMessage:
                return time.monotonic() - opened
        async with socket:
            async for _ in socket:  # the snapshot, then nothing until daphne closes it
                pass
            return time.monotonic() - opened

    tasks = [asyncio.ensure_future(one()) for _ in range(count)]
    done, pending = await asyncio.wait(tasks, timeout=60)
    for task in pending:
        task.cancel()
    return [task.result() for task in done]


def test_serving_the_site_with_daphne_installs_the_spread_checker():
    """daphne imports its server, then the application: the checker must be in place by the
    time daphne schedules its first sweep (a process of its own: daphne's import installs
    Twisted's reactor)."""
    check = (
        "import daphne.server, microblog.asgi; assert daphne.server.Server.timeout_checker.spread"
    )
    subprocess.run([sys.executable, "-c", check], env=processes.child_env(), check=True)
