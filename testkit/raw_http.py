"""Requests to a real server written byte for byte, and the cookies a logged-in browser sends.

Clients such as http.client or websockets refuse or escape some bytes (a NUL in a path, say);
these helpers put exactly the given bytes on the socket, so the server is what gets tested.
"""

import base64
import contextlib
import http.client
import os
import socket
from dataclasses import dataclass

from django.test import Client

CSRF_TOKEN = "rawhttpcsrftoken0123456789abcdef"  # any 32 characters; sent as cookie and header


def session_id(user):
    """The id of a fresh session logged in as ``user``."""
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def session_cookie(user):
    """``sessionid=…`` of a fresh session logged in as ``user``."""
    return f"sessionid={session_id(user)}"


def browser_headers(port, cookie):
    """What a logged-in browser on the page sends: its cookies, origin and CSRF token."""
    return {
        "Cookie": f"{cookie}; csrftoken={CSRF_TOKEN}",
        "Origin": f"http://127.0.0.1:{port}",
        "X-CSRFToken": CSRF_TOKEN,
    }


@dataclass
class RawResponse:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def _encode(value):
    return value if isinstance(value, bytes) else value.encode()


def _head(port, method, target, headers):
    head = [b"%s %s HTTP/1.1" % (_encode(method), _encode(target)), b"Host: 127.0.0.1:%d" % port]
    head += [b"%s: %s" % (_encode(name), _encode(value)) for name, value in headers.items()]
    return b"\r\n".join(head) + b"\r\n\r\n"


def _exchange(port, method, target, headers, body=b""):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_head(port, method, target, headers) + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = b"" if response.status == 101 else response.read()
        return RawResponse(response.status, response.headers, body)


def raw_request(port, method, target, headers=None, body=b""):
    """Send one HTTP/1.1 request as written (``target`` and header values may be bytes)."""
    framing = {"Connection": "close", "Content-Length": str(len(body))}
    return _exchange(port, method, target, {**framing, **(headers or {})}, body)


def _upgrade():
    return {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
    }


def raw_websocket_handshake(port, path="/ws/tasks/", headers=None):
    """The status with which the server answers a websocket handshake (101: accepted)."""
    return _exchange(port, "GET", path, {**_upgrade(), **(headers or {})}).status


@contextlib.contextmanager
def silent_websocket(port, path="/ws/tasks/", headers=None):
    """An accepted websocket whose client never writes a frame, not even the answer to a close:
    a socket that ``read_frame`` reads."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_head(port, "GET", path, {**_upgrade(), **(headers or {})}))
        response = b""
        while b"\r\n\r\n" not in response:
            response += sock.recv(1)  # a byte at a time: the first frames must stay unread
        assert response.startswith(b"HTTP/1.1 101 "), response
        yield sock


def send_text_frame(sock, text):
    """Send ``text`` as one masked frame, as clients must."""
    payload, mask = text.encode(), os.urandom(4)
    assert len(payload) < 126, "a short frame only"
    masked = bytes(byte ^ mask[n % 4] for n, byte in enumerate(payload))
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)


def read_frame(sock):
    """The next frame a server sent on ``sock`` (unmasked, as servers send): (opcode, payload)."""
    first, second = _read_exactly(sock, 2)
    length = second & 0x7F
    if length >= 126:
        length = int.from_bytes(_read_exactly(sock, 2 if length == 126 else 8))
    return first & 0x0F, _read_exactly(sock, length)


def _read_exactly(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return data
