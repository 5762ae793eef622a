"""The unread count on the notification stream, through the whole ASGI stack and real Redis."""

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from private_messages import services
from private_messages.models import Message
from private_messages.tests.sending import send
from testkit.communicators import communicator, handshake_headers, run
from usertasks import notifications
from usertasks.socket_watch import CHECK_INTERVAL

pytestmark = pytest.mark.django_db(transaction=True)

CAUGHT_UP = 3 * CHECK_INTERVAL + 5  # seconds: the socket watch's catch-up, generously


@pytest.fixture(autouse=True)
def _redis(redis_client):
    return redis_client


def headers_of(user):
    browser = Client()
    browser.force_login(user)
    return handshake_headers(f"sessionid={browser.cookies['sessionid'].value}")


async def snapshot_of(ws):
    """Connect and read the snapshot: every event before its end marker."""
    connected, _ = await ws.connect()
    assert connected
    events = []
    while (message := await ws.receive_json_from())["type"] != "snapshot":
        events.append(message)
    return events


@pytest.mark.parametrize("path", ["/ws/notifications/", "/ws/tasks/"])
def test_the_snapshot_carries_the_unread_count_before_its_end_marker(ws_headers, alice, bob, path):
    send(bob, alice)
    send(bob, alice)
    headers = ws_headers(alice)

    async def body():
        ws = communicator(headers, path)
        assert await snapshot_of(ws) == [{"type": "messages", "unread": 2}]
        await ws.disconnect()

    run(body)


def test_a_message_reaches_every_page_of_the_recipient_and_reading_clears_the_others(
    ws_headers, alice, bob
):
    alices = ws_headers(alice)
    bobs = headers_of(bob)  # another browser: ws_headers logs its one client in again

    async def body():
        tabs = [communicator(alices, "/ws/notifications/") for _ in range(2)]
        senders = communicator(bobs, "/ws/notifications/")
        for ws in (*tabs, senders):
            assert await snapshot_of(ws) == [{"type": "messages", "unread": 0}]
        await database_sync_to_async(services.message_send)(sender=bob, recipient=alice, body="Hi")
        for ws in tabs:
            assert await ws.receive_json_from(timeout=5) == {"type": "messages", "unread": 1}
        await database_sync_to_async(services.messages_mark_read)(user=alice, up_to=timezone.now())
        for ws in tabs:
            assert await ws.receive_json_from(timeout=5) == {"type": "messages", "unread": 0}
        assert await senders.receive_nothing(timeout=1)
        for ws in (*tabs, senders):
            await ws.disconnect()

    run(body)


def test_a_message_whose_publish_was_lost_reaches_the_page_through_the_watch(
    ws_headers, alice, bob
):
    """Stored without a publish, as when Redis was unreachable from the sender's process."""
    headers = ws_headers(alice)

    async def body():
        ws = communicator(headers)
        assert await snapshot_of(ws) == [{"type": "messages", "unread": 0}]
        await database_sync_to_async(send)(bob, alice)
        assert await ws.receive_json_from(timeout=CAUGHT_UP) == {"type": "messages", "unread": 1}
        await ws.disconnect()

    run(body)


class Greetings(notifications.EventSource):
    """A third event type, known to no code of the consumer or the watch."""

    type = "greetings"

    def snapshot(self, user):
        return [{"type": "greetings", "count": Message.objects.count()}]

    def changed(self, user_ids, since):
        return {
            user_id: {"type": "greetings", "count": Message.objects.count()} for user_id in user_ids
        }


@pytest.fixture
def greetings():
    source = Greetings()
    notifications.register(source)
    yield source
    del notifications._sources[source.type]


def test_a_third_event_source_needs_no_consumer_change(ws_headers, alice, bob, greetings):
    headers = ws_headers(alice)

    async def body():
        ws = communicator(headers, "/ws/notifications/")
        assert {"type": "greetings", "count": 0} in await snapshot_of(ws)
        await database_sync_to_async(notifications.notify)(
            alice.pk, {"type": "greetings", "count": 7}
        )
        assert await ws.receive_json_from(timeout=5) == {"type": "greetings", "count": 7}
        # Its state changed without a publish: the watch sends the current one.
        assert await ws.receive_json_from(timeout=CAUGHT_UP) == {"type": "greetings", "count": 0}
        await ws.disconnect()

    run(body)
