"""daphne's timeout and application checks, a slice at a time
(serverpatches/connection_checks.py)."""

import asyncio
import subprocess
import sys
import time

import pytest
import websockets

from serverpatches.connection_checks import Rounds, check_application
from testkit import processes
from testkit.factories import PASSWORD
from testkit.visitor import Visitor


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
def test_daphne_still_times_out_every_websocket_with_its_checks_spread(user, tmp_path):
    """Each of 200 sockets is closed by daphne's --websocket_timeout, no sooner: every connection
    is still checked, through the spread checker that asgi.py installs."""
    timeout = 3
    options = ["--websocket_timeout", str(timeout)]
    # One user holds all 200: the cap per user is not what this test is about.
    web = processes.start_daphne(tmp_path / "web.log", options=options, WEBSOCKETS_PER_USER=200)
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


def test_serving_the_site_with_daphne_installs_the_spread_checkers():
    """daphne imports its server, then the application: the checker must be in place by the
    time daphne schedules its first sweep (a process of its own: daphne's import installs
    Twisted's reactor)."""
    check = (
        "import daphne.server, microblog.asgi; from daphne.server import Server;"
        " assert Server.timeout_checker.spread and Server.application_checker.spread"
    )
    subprocess.run([sys.executable, "-c", check], env=processes.child_env(), check=True)


class _Server:
    application_close_timeout = 10

    def __init__(self, **connections):
        self.connections = connections
        self.stopped = False

    def stop(self):
        self.stopped = True


class _Protocol:
    def __init__(self):
        self.exceptions = []

    def handle_exception(self, exception):
        self.exceptions.append(exception)


def _application(loop, *, result=None, exception=None, done=True):
    future = loop.create_future()
    if exception is not None:
        future.set_exception(exception)
    elif done:
        future.set_result(result)
    return future


def test_the_application_check_forgets_a_closed_connection_once_its_application_ended():
    loop = asyncio.new_event_loop()
    closed, open_ = _Protocol(), _Protocol()
    server = _Server()
    server.connections = {
        closed: {"disconnected": time.time(), "application_instance": _application(loop)},
        open_: {"application_instance": _application(loop, done=False)},
    }

    for protocol in list(server.connections):
        check_application(server, protocol)

    assert list(server.connections) == [open_]
    assert not server.connections[open_]["application_instance"].done()
    loop.close()


def test_the_application_check_cancels_an_application_that_outlived_its_connection():
    loop = asyncio.new_event_loop()
    protocol = _Protocol()
    server = _Server()
    stuck = loop.create_task(asyncio.sleep(3600))  # a consumer that never returns
    long_ago = time.time() - server.application_close_timeout - 1
    server.connections = {protocol: {"disconnected": long_ago, "application_instance": stuck}}

    check_application(server, protocol)
    assert protocol in server.connections, "kept until the cancelled application has ended"
    loop.run_until_complete(asyncio.wait([stuck]))
    check_application(server, protocol)

    assert stuck.cancelled()
    assert server.connections == {}
    loop.close()


def test_the_application_check_hands_a_crash_to_its_open_connection():
    loop = asyncio.new_event_loop()
    protocol = _Protocol()
    crash = RuntimeError("boom")
    server = _Server()
    server.connections = {protocol: {"application_instance": _application(loop, exception=crash)}}

    check_application(server, protocol)

    assert protocol.exceptions == [crash]
    assert server.connections == {protocol: {}}, "the connection stays until it closes"
    loop.close()
