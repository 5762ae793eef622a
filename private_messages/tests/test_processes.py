"""Private messages between two daphne processes, with Redis frozen while one is sent."""

import json
import signal

import pytest

from private_messages.models import Message
from testkit import processes
from testkit.factories import PASSWORD
from testkit.visitor import Visitor, open_websocket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault, pytest.mark.slow]


def next_event(socket, timeout=30):
    """The next event of a type other than the snapshot's end marker."""
    while (message := json.loads(socket.recv(timeout=timeout)))["type"] == "snapshot":
        pass
    return message


def test_messages_cross_web_processes_and_a_frozen_redis_loses_none(
    private_redis, alice, bob, tmp_path
):
    redis = private_redis[0]
    env = {"REDIS_URL": redis.url}
    web_a = processes.start_daphne(tmp_path / "web-a.log", **env)
    web_b = processes.start_daphne(tmp_path / "web-b.log", **env)
    try:
        sender = Visitor(web_a.url, timeout=10)  # the send must answer within seconds
        sender.log_in(bob.username, PASSWORD)
        reader = Visitor(web_b.url)
        reader.log_in(alice.username, PASSWORD)
        with open_websocket(web_b.url, reader.session_id, path="/ws/notifications/") as socket:
            assert next_event(socket) == {"type": "messages", "unread": 0}
            response = sender.post("/messages/send/alice/", {"body": "one"})
            assert "Your message has been sent." in response.text
            assert next_event(socket) == {"type": "messages", "unread": 1}

            redis.process.send_signal(signal.SIGSTOP)
            try:
                response = sender.post("/messages/send/alice/", {"body": "two"})
                assert response.status_code == 200, response.text
                assert "Your message has been sent." in response.text
                assert Message.objects.filter(recipient=alice).count() == 2
                # No publish got through: the web process of alice's page reads the count
                # from the database, while Redis is still frozen.
                assert next_event(socket) == {"type": "messages", "unread": 2}
            finally:
                redis.process.send_signal(signal.SIGCONT)

            # Alice reads them on the other process: her page here learns it.
            other_tab = Visitor(web_a.url)
            other_tab.log_in(alice.username, PASSWORD)
            assert "two" in other_tab.get("/messages/").text
            while (event := next_event(socket)) != {"type": "messages", "unread": 0}:
                assert event == {"type": "messages", "unread": 2}  # a late copy, at most
    finally:
        web_a.stop()
        web_b.stop()
