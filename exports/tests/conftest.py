import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from microblog.asgi import application


@pytest.fixture
def ws_headers(client):
    """Headers of a browser logged in as ``user``: factory(user, origin=...)."""

    def make(user=None, origin="http://127.0.0.1"):
        headers = [(b"origin", origin.encode())] if origin else []
        if user is not None:
            client.force_login(user)
            cookie = f"sessionid={client.cookies['sessionid'].value}"
            headers.append((b"cookie", cookie.encode()))
        return headers

    return make


def communicator(headers, path="/ws/tasks/"):
    return WebsocketCommunicator(application, path, headers=headers)


async def connected_past_snapshot(ws):
    """Connect and read the snapshot up to its closing message; returns the tasks it held."""
    connected, _ = await ws.connect()
    assert connected
    tasks = []
    while (message := await ws.receive_json_from())["type"] == "task":
        tasks.append(message["task"])
    assert message["type"] == "snapshot"
    return tasks


def run(coroutine_function):
    """Run an async test body on a fresh event loop (no pytest-asyncio needed)."""
    return async_to_sync(coroutine_function)()
