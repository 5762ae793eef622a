"""A message for a websocket that daphne is closing is dropped, against a real daphne
(serverpatches/closing_sockets.py)."""

import json
import select

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from testkit import processes
from testkit.raw_http import read_frame, session_id, silent_websocket
from testkit.visitor import open_websocket, read_past_snapshot
from usertasks import notifications

pytestmark = pytest.mark.django_db(transaction=True)

CLOSE = 0x8
ATTEMPTS = 3


def test_an_event_for_a_socket_whose_timeout_closed_it_is_dropped_without_ending_its_consumer(
    user, tmp_path
):
    """daphne's --websocket_timeout sends its close; the client has not answered when an event
    for its user arrives, and autobahn refused to send on a closing connection: the consumer
    ended with a traceback (seen on a loaded CI machine, a snapshot cut short by the timeout)."""
    session = session_id(user)
    for attempt in range(ATTEMPTS):
        web = processes.start_daphne(
            tmp_path / f"web{attempt}.log", options=["--websocket_timeout", "2"]
        )
        try:
            dropped_first, consumers = _event_for_a_closing_socket(web, session, user)
        finally:
            web.stop()
        if not dropped_first:
            break
    else:
        pytest.fail(f"the server dropped the closing socket first in {ATTEMPTS} attempts")
    assert consumers == 2, "the closing socket's consumer ended with the event"
    assert "Traceback" not in web.output()


def _event_for_a_closing_socket(web, session, user):
    """Send an event to ``user``, whose one socket daphne is closing and another is open:
    whether the server had dropped the closing one before the event reached the other, and how
    many websocket consumers still ran once it had."""
    headers = {"Cookie": f"sessionid={session}", "Origin": web.url}
    with silent_websocket(web.port, headers=headers) as closing:
        while read_frame(closing)[0] != CLOSE:  # its snapshot, then the timeout's close
            pass
        with open_websocket(web.url, session) as other:
            read_past_snapshot(other)
            notifications.notify(user.pk, {"type": "probe"})
            assert json.loads(other.recv(timeout=10)) == {"type": "probe"}
            # The closing socket's consumer was handed the event with this one's: if the
            # server had not dropped it by now (autobahn does a second after its close), the
            # event met a closing connection, which is what this test is about.
            dropped_first = bool(select.select([closing], [], [], 0)[0])
            return dropped_first, _open_websockets(web)


def _open_websockets(web):
    """The web process's count of websockets whose consumer runs (ops/metrics/http.py)."""
    response = requests.get(f"{web.url}/metrics", timeout=30)
    response.raise_for_status()
    for family in text_string_to_metric_families(response.text):
        if family.name == "microblog_websockets_open":
            return family.samples[0].value
    raise AssertionError("no microblog_websockets_open in /metrics")
