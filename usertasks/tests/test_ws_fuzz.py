"""Websocket fuzzing: hostile clients can neither break the consumer nor see other users' tasks."""

import json
import logging
import random

import pytest
from channels.db import database_sync_to_async
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import CloseCode
from websockets.sync.client import connect

from testkit.communicators import communicator, handshake_headers, run
from testkit.factories import TaskFactory
from testkit.raw_http import raw_websocket_handshake, session_cookie
from usertasks.models import Task
from usertasks.progress import user_group_name
from usertasks.transitions import report_progress

pytestmark = pytest.mark.django_db(transaction=True)

FLOOD_SIZE = 1_200
DAPHNE_MAX_MESSAGE = 1024 * 1024  # daphne's own; serverpatches/websocket_frames.py's is far lower


def unicode_junk(rng, length):
    # Any code point but surrogates, which a UTF-8 text frame cannot carry.
    points = (
        rng.choice((rng.randrange(0x20, 0x7F), rng.randrange(0xE000, 0x110000)))
        for _ in range(length)
    )
    return "".join(chr(point) for point in points)


def huge_string(rng):
    char = rng.choice('x{["\\é🎉')
    return char * (rng.randrange(1_000, 200_000) // len(char.encode()))


def deeply_nested(rng):
    depth = rng.randrange(100, 100_000)
    if rng.random() < 0.5:
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def hostile_messages(rng, count, their_ids, their_group):
    """``count`` pairs ``(kind, payload)``, kind "text" or "bytes": all a client should not say."""

    def their_id():
        return rng.choice(their_ids)

    makers = [
        # Malformed JSON.
        lambda: rng.choice(['{"type": "task.update"', "{", "[1, 2", '{"a":}', "NaN", "\x00"]),
        lambda: json.dumps({"type": "subscribe", "task": their_id()})[: rng.randrange(1, 40)],
        # Binary frames.
        lambda: rng.randbytes(rng.randrange(0, 4096)),
        # Another user's group and tasks.
        lambda: json.dumps(
            {"type": rng.choice(["subscribe", "group_add", "join"]), "group": their_group}
        ),
        lambda: json.dumps({"task_id": their_id(), "action": rng.choice(["get", "cancel"])}),
        lambda: json.dumps({"type": "task", "task": {"id": their_id()}}),
        # Messages that look like the server's own channel-layer events.
        lambda: json.dumps({"type": "task.update", "task": {"id": their_id(), "status": "failed"}}),
        lambda: json.dumps(
            {
                "type": rng.choice(
                    ["websocket.disconnect", "websocket.close", "group_send", "task_update"]
                ),
                "group": their_group,
                "task": {"id": their_id()},
            }
        ),
        # Huge strings, up to 200 KB.
        lambda: huge_string(rng),
        lambda: json.dumps({"type": "task.update", "task": their_id() * rng.randrange(1, 6_000)}),
        # Deeply nested JSON.
        lambda: deeply_nested(rng),
        # Unicode junk.
        lambda: unicode_junk(rng, rng.randrange(1, 2_000)),
        lambda: json.dumps({unicode_junk(rng, 8): unicode_junk(rng, 64)}, ensure_ascii=False),
    ]
    for _ in range(count):
        payload = rng.choice(makers)()
        yield ("bytes" if isinstance(payload, bytes) else "text"), payload


def test_a_flood_of_hostile_messages_neither_breaks_the_socket_nor_leaks_other_tasks(
    user, other_user, redis_client, caplog
):
    caplog.set_level(logging.WARNING)
    mine = TaskFactory(user=user, status=Task.Status.RUNNING)
    theirs = [
        TaskFactory(user=other_user, status=Task.Status.RUNNING, kind="export_posts"),
        TaskFactory(user=other_user, status=Task.Status.QUEUED, kind="import_posts"),
    ]
    their_ids = [task.pk for task in theirs]
    rng = random.Random(20261126)
    messages = hostile_messages(rng, FLOOD_SIZE, their_ids, user_group_name(other_user.pk))
    my_headers = handshake_headers(session_cookie(user))
    their_headers = handshake_headers(session_cookie(other_user))
    seen_by_me, seen_by_them = [], []

    async def receive_until(ws, into, wanted):
        """Keep what ``ws`` receives until a message ``wanted`` accepts: an event, no pause."""
        while True:
            into.append(await ws.receive_from(timeout=10))
            if wanted(json.loads(into[-1])):
                return

    def snapshot(message):
        return message["type"] == "snapshot"

    def report(task, done):
        def wanted(message):
            state = message.get("task") or {}
            return message["type"] == "task" and (state["id"], state["done"]) == (task.pk, done)

        return wanted

    async def body():
        ws, observer = communicator(my_headers), communicator(their_headers)
        assert (await ws.connect())[0] and (await observer.connect())[0]
        await receive_until(ws, seen_by_me, snapshot)
        await receive_until(observer, seen_by_them, snapshot)
        for sent, (kind, payload) in enumerate(messages, start=1):
            await ws.send_to(**{f"{kind}_data": payload})
            if sent % 100 == 0:
                # Meanwhile the other user's tasks keep reporting to their group.
                task = theirs[sent // 100 % 2]
                await database_sync_to_async(report_progress)(task, done=sent, total=FLOOD_SIZE)
                await receive_until(observer, seen_by_them, report(task, sent))
        # My own report comes after anything the flood could have provoked on my socket.
        await database_sync_to_async(report_progress)(mine, done=1, total=2)
        await receive_until(ws, seen_by_me, report(mine, 1))
        await ws.disconnect()
        await observer.disconnect()

    run(body)

    mine_only = [json.loads(text) for text in seen_by_me]
    assert [m["type"] for m in mine_only] == ["task", "messages", "snapshot", "task"]
    assert [m["task"]["id"] for m in mine_only if m["type"] == "task"] == [mine.pk, mine.pk]
    assert mine_only[-1]["task"]["progress"] == 50
    assert not any(task_id in text for text in seen_by_me for task_id in their_ids)
    # The other user's reports were really flowing the whole time, to them.
    their_reports = [json.loads(text)["task"] for text in seen_by_them if '"done"' in text]
    assert {(t["id"], t["done"]) for t in their_reports} >= {
        (theirs[sent // 100 % 2].pk, sent) for sent in range(100, FLOOD_SIZE + 1, 100)
    }
    assert all(task.is_active for task in Task.objects.filter(pk__in=their_ids))
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not errors, [record.getMessage() for record in errors]


@pytest.fixture
def daphne(web, user):
    """The ``web`` daphne, plus what a logged-in browser on it would send."""
    web.ws_url = web.url.replace("http://", "ws://") + "/ws/tasks/"
    web.cookie = session_cookie(user)
    return web


def open_socket(daphne, origin=None, cookie=None):
    return connect(
        daphne.ws_url,
        origin=origin or daphne.url,
        additional_headers={"Cookie": cookie or daphne.cookie},
        open_timeout=10,
        close_timeout=5,
    )


@pytest.mark.fault
@pytest.mark.parametrize("fragments", [1, 64], ids=["one-frame", "fragmented"])
def test_a_message_over_daphnes_size_limit_closes_the_connection_cleanly(daphne, fragments):
    oversized = "x" * (DAPHNE_MAX_MESSAGE + 1)
    step = len(oversized) // fragments + 1

    with open_socket(daphne) as ws:
        assert json.loads(ws.recv(timeout=10)) == {"type": "messages", "unread": 0}
        assert json.loads(ws.recv(timeout=10)) == {"type": "snapshot", "task_ids": []}
        with pytest.raises(ConnectionClosed):
            if fragments == 1:
                ws.send(oversized)
            else:
                ws.send([oversized[i : i + step] for i in range(0, len(oversized), step)])
            ws.recv(timeout=10)  # a TimeoutError here would mean the server hung
    # daphne's autobahn fails an oversized message "by drop" (a TCP reset, seen as 1006) rather
    # than with a 1009 close frame; either way the connection ends at once instead of hanging.
    assert ws.close_code in (CloseCode.ABNORMAL_CLOSURE, CloseCode.MESSAGE_TOO_BIG)

    with open_socket(daphne) as ws:  # and the server still serves everyone else
        assert json.loads(ws.recv(timeout=10))["type"] == "messages"
        assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
    assert "Traceback" not in daphne.output()


@pytest.mark.fault
def test_a_cross_origin_handshake_is_refused_by_daphne(daphne):
    with pytest.raises(InvalidStatus) as refused:
        open_socket(daphne, origin="http://evil.example")

    assert refused.value.response.status_code == 403
    assert "Traceback" not in daphne.output()


@pytest.mark.fault
def test_daphne_refuses_other_ports_and_schemes_and_sends_its_own_origin_the_snapshot(daphne, user):
    mine = TaskFactory(user=user, status=Task.Status.RUNNING, progress=40)
    other_port = daphne.port + 1 if daphne.port < 65535 else daphne.port - 1
    foreign = [
        f"http://127.0.0.1:{other_port}",
        "http://localhost:9999",
        f"https://127.0.0.1:{daphne.port}",
    ]

    refused = {
        origin: raw_websocket_handshake(
            daphne.port, headers={"Origin": origin, "Cookie": daphne.cookie}
        )
        for origin in foreign
    }
    with open_socket(daphne, origin=f"http://127.0.0.1:{daphne.port}") as ws:
        first = json.loads(ws.recv(timeout=10))

    assert refused == dict.fromkeys(foreign, 403)
    assert (first["type"], first["task"]["id"], first["task"]["progress"]) == ("task", mine.pk, 40)
    assert "Traceback" not in daphne.output()


@pytest.mark.fault
def test_a_handshake_without_a_session_cookie_is_refused_by_daphne(daphne):
    with pytest.raises(InvalidStatus) as refused:
        connect(daphne.ws_url, origin=daphne.url, open_timeout=10)

    assert refused.value.response.status_code == 403
    assert "Traceback" not in daphne.output()
