"""origin_allowed (microblog/websocket_origins.py) on handshake scopes as ASGI servers build them.

The whole websocket stack is tested in usertasks/tests/test_consumers.py and test_ws_fuzz.py.
"""

import pytest

from microblog.websocket_origins import origin_allowed


def scope(origin, host="127.0.0.1:8150", **extra):
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "path": "/ws/tasks/", "headers": headers, **extra}


@pytest.mark.parametrize(
    ("ws_scheme", "origin", "allowed"),
    [
        ("wss", "https://127.0.0.1:8150", True),
        ("wss", "http://127.0.0.1:8150", False),
        ("ws", "http://127.0.0.1:8150", True),
        ("ws", "https://127.0.0.1:8150", False),
    ],
)
def test_a_secure_websocket_takes_https_origins_and_a_plain_one_http(ws_scheme, origin, allowed):
    assert origin_allowed(scope(origin, scheme=ws_scheme)) is allowed


def test_without_a_host_header_the_servers_address_is_the_pages_host():
    handshake = {
        **scope("http://127.0.0.1:8150"),
        "headers": [(b"origin", b"http://127.0.0.1:8150")],
    }

    assert origin_allowed({**handshake, "server": ("127.0.0.1", 8150)})
    assert not origin_allowed({**handshake, "server": ("127.0.0.1", 8151)})


@pytest.mark.parametrize("origin", [None, "null", "", "http://127.0.0.1:8150, http://evil.example"])
def test_a_missing_opaque_or_doubled_origin_is_refused(origin):
    assert not origin_allowed(scope(origin))
