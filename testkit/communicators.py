"""Talking to the site's websocket in-process, as the exports tests do (Channels'
WebsocketCommunicator on the ASGI application)."""

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from microblog.asgi import application

# A page of the site as `PORT=8150 make run` serves it: not SITE_URL's port, so the origin is
# accepted only because it is the page's own (Host header), as in a browser.
SITE_HOST = "127.0.0.1:8150"
SITE_ORIGIN = f"http://{SITE_HOST}"


def handshake_headers(cookie=None, origin=SITE_ORIGIN, host=SITE_HOST):
    """What a browser sends when a page on ``host`` opens its websocket."""
    headers = {"host": host, "origin": origin, "cookie": cookie}
    return [(name.encode(), value.encode()) for name, value in headers.items() if value]


def communicator(headers, path="/ws/tasks/"):
    return WebsocketCommunicator(application, path, headers=headers)


async def connected_past_snapshot(ws):
    """Connect and read the snapshot up to its closing message; returns the tasks it held
    (the other event sources' parts, such as the unread messages, are skipped)."""
    connected, _ = await ws.connect()
    assert connected
    tasks = []
    while (message := await ws.receive_json_from())["type"] != "snapshot":
        if message["type"] == "task":
            tasks.append(message["task"])
    return tasks


def run(coroutine_function):
    """Run an async test body on a fresh event loop (no pytest-asyncio needed)."""
    return async_to_sync(coroutine_function)()
