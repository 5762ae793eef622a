"""What clients send on a websocket is small and rare, checked against a real daphne
(serverpatches/websocket_frames.py)."""

import contextlib
import json
import threading

import psutil
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from serverpatches.websocket_frames import FLOODING, MAX_MESSAGE_BYTES
from testkit.factories import PASSWORD, UserFactory
from testkit.processes import peak_rss_mb
from testkit.raw_http import session_id
from testkit.visitor import Visitor, open_websocket, read_past_snapshot
from testkit.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]

FRAME = "x" * (MAX_MESSAGE_BYTES - 96)  # just under the limit: only the rate can stop these
FLOOD_BYTES = 96 * 1024 * 1024  # what the client would send if the socket stayed open
RSS_GROWTH_MB = 32  # unpatched, the queued frames alone would take more than twice this


@contextlib.contextmanager
def open_socket(web, user):
    with open_websocket(web.url, session_id(user)) as ws:
        read_past_snapshot(ws)
        yield ws


@pytest.mark.parametrize("fragments", [1, 4], ids=["one-frame", "fragmented"])
def test_a_message_of_a_few_kilobytes_closes_the_socket(web, user, fragments):
    message = "x" * (MAX_MESSAGE_BYTES * 2)
    step = len(message) // fragments

    with open_socket(web, user) as ws, pytest.raises(ConnectionClosed):
        ws.send(
            message
            if fragments == 1
            else [message[i : i + step] for i in range(0, len(message), step)]
        )
        ws.recv(timeout=10)  # a TimeoutError: the message was taken in
    # autobahn fails a connection "by drop" (1006) rather than with a 1009 close frame.
    assert ws.close_code in (CloseCode.ABNORMAL_CLOSURE, CloseCode.MESSAGE_TOO_BIG)

    with open_socket(web, user):  # and the server still serves
        pass
    assert "Traceback" not in web.output()


def test_a_socket_that_keeps_sending_is_closed_before_daphne_holds_its_frames(web, user):
    daphne_rss = psutil.Process(web.pid).memory_info().rss / 2**20
    sent = 0

    with open_socket(web, user) as ws, contextlib.suppress(ConnectionClosed, TimeoutError):
        while sent < FLOOD_BYTES:
            ws.send(FRAME)
            sent += len(FRAME)
        ws.recv(timeout=10)  # the close, if it has not come yet (a timeout: it never does)
    growth = peak_rss_mb(web.pid) - daphne_rss

    # Closed, not left open (unpatched, it stays open past 96 MB): with 4008, or with no code at
    # all when the client, still writing, gets the TCP reset before it reads the close frame.
    closed = ws.close_code in (FLOODING, CloseCode.ABNORMAL_CLOSURE)
    assert closed, f"open after {sent / 2**20:.0f} MB, daphne +{growth:.0f} MB"
    assert growth < RSS_GROWTH_MB
    with open_socket(web, user):  # the user's other pages still connect
        pass
    assert "Traceback" not in web.output()


def flood_until(stop, web, user, closed_codes):
    """A misbehaving client: floods a socket, and when it is closed, opens another and floods
    that, until ``stop`` is set; each close's code goes into ``closed_codes``."""
    while not stop.is_set():
        with open_socket(web, user) as ws, contextlib.suppress(ConnectionClosed, TimeoutError):
            while not stop.is_set():
                ws.send(FRAME)
        closed_codes.append(ws.close_code)


def test_while_one_user_floods_other_users_keep_getting_their_events(web, user, other_user):
    """Busy, not idle: one user floods socket after socket while another user sends messages
    through the site and their recipient's page gets every new count."""
    sender = Visitor(web.url, timeout=10)
    sender.log_in(UserFactory().username, PASSWORD)
    stop, closed_codes = threading.Event(), []
    flooder = threading.Thread(target=flood_until, args=(stop, web, user, closed_codes))

    with open_websocket(web.url, session_id(other_user), path="/ws/notifications/") as theirs:
        read_past_snapshot(theirs)
        flooder.start()
        try:
            wait_until(lambda: closed_codes, timeout=30)  # the flood is on: one socket cut
            cut_before = len(closed_codes)
            for unread in range(1, 6):
                response = sender.post(
                    f"/messages/send/{other_user.username}/", {"body": f"during the flood {unread}"}
                )
                assert "Your message has been sent." in response.text
                assert json.loads(theirs.recv(timeout=10)) == {
                    "type": "messages",
                    "unread": unread,
                }
            wait_until(lambda: len(closed_codes) > cut_before, timeout=30)  # and still on
        finally:
            stop.set()
            flooder.join(timeout=60)
    assert not flooder.is_alive()
    # Every flooding socket was cut (the last may have ended when the flooder was told to stop).
    assert set(closed_codes[:-1]) <= {FLOODING, CloseCode.ABNORMAL_CLOSURE}
    assert "Traceback" not in web.output()
