"""Request bodies cost a real daphne a bounded buffer: refused early, timed out, read on demand.

serverpatches/request_limits.py: a body over its path's limit is answered 413 before it is read (by
its Content-Length) or as it passes the limit (chunked), a stalled one 408, and the application
reads an accepted one from disk a chunk at a time. Each test talks raw HTTP over a socket, so
that what the client has and has not sent is exact.
"""

import http.client
import socket
import threading

import pytest

from testkit.nginx import start_nginx
from testkit.processes import peak_rss_mb, start_daphne
from testkit.raw_http import session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]

MB = 2**20


@pytest.fixture
def daphne(redis_client, media_root, tmp_path):
    """A factory of daphne processes with the given settings, all stopped after the test."""
    started = []

    def start(**env):
        started.append(start_daphne(tmp_path / f"daphne{len(started)}.log", **env))
        return started[-1]

    yield start
    for process in started:
        process.stop()


def send_head(port, method, path, headers):
    """A connected socket on which the request line and headers, and nothing else, are sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    sock.sendall("\r\n".join(head).encode() + b"\r\n\r\n")
    return sock


def read_response(sock):
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, response.read().decode()


def closed_by_server(sock):
    """Waits (up to the socket's timeout) until the server ends the connection."""
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


def test_a_body_declared_over_the_limit_is_refused_before_the_client_sends_it(daphne):
    web = daphne(IMPORT_MAX_BYTES=MB)

    with send_head(web.port, "POST", "/imports/", {"Content-Length": 300 * MB}) as sock:
        status, page = read_response(sock)
    assert status == 413
    assert "This file is too large: archives are limited to 1.0\xa0MB." in page
    assert 'href="/imports/"' in page

    # Anonymous and anywhere else: the general limit, in the browser's language.
    headers = {"Content-Length": 3 * MB, "Accept-Language": "es"}
    with send_head(web.port, "POST", "/accounts/login/", headers) as sock:
        status, page = read_response(sock)
    assert status == 413
    assert "Las peticiones están limitadas a 2,5\xa0MB." in page
    # The footer's language switcher (its cookie) wins over the browser's, as on every page.
    headers = {"Content-Length": 3 * MB, "Accept-Language": "en", "Cookie": "django_language=es"}
    with send_head(web.port, "POST", "/", headers) as sock:
        assert "Las peticiones están limitadas" in read_response(sock)[1]


def test_a_chunked_body_is_refused_as_it_passes_the_limit_and_the_connection_ends(daphne):
    web = daphne(REQUEST_BODY_TIMEOUT=2)
    sock = send_head(web.port, "POST", "/", {"Transfer-Encoding": "chunked"})
    with sock:
        block = b"x" * 64 * 1024
        for _ in range(3 * MB // len(block)):  # past REQUEST_MAX_BYTES (2.5 MB), never ended
            sock.sendall(b"%x\r\n%s\r\n" % (len(block), block))

        status, page = read_response(sock)
        assert status == 413
        assert "Requests are limited to 2.5\xa0MB." in page
        assert closed_by_server(sock)
    assert '"POST /"' not in web.output()  # the application never saw it


def test_a_body_that_stalls_is_timed_out(daphne):
    web = daphne(REQUEST_BODY_TIMEOUT=1)
    with send_head(web.port, "POST", "/accounts/login/", {"Content-Length": 1000}) as sock:
        sock.sendall(b"username=")

        status, page = read_response(sock)
        assert status == 408
        assert "Nothing arrived for a while" in page
        assert closed_by_server(sock)


def test_concurrent_uploads_cost_daphne_a_bounded_buffer_not_their_size(daphne, user):
    """Before, daphne queued each whole body for the application at once: its peak memory grew
    by at least one body (48 MB), usually several."""
    web = daphne(IMPORT_MAX_BYTES=64 * MB)
    with send_head(web.port, "GET", "/healthz", {"Connection": "close"}) as sock:
        assert read_response(sock)[0] == 200  # daphne has served a request: its baseline
    before = peak_rss_mb(web.pid)
    statuses = []

    def upload():
        size = 48 * MB
        headers = {"Content-Length": size, "Content-Type": "application/octet-stream"}
        headers["Cookie"] = session_cookie(user)  # an anonymous upload goes to log in
        with send_head(web.port, "POST", "/imports/", headers) as sock:
            block = b"x" * MB
            for _ in range(size // MB):
                sock.sendall(block)
            statuses.append(read_response(sock)[0])

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [403] * 4  # read whole by Django, then refused: no CSRF token
    grown = peak_rss_mb(web.pid) - before
    assert grown < 32, f"daphne's peak grew {grown:.0f} MB for 4 uploads of 48 MB"


def test_behind_nginx_the_import_limit_is_import_max_bytes(daphne, user, media_root, tmp_path):
    """deploy/nginx/templates/ render client_max_body_size for /imports/ from IMPORT_MAX_BYTES:
    nginx refuses a larger upload itself, and passes a smaller one on to daphne."""
    web = daphne(IMPORT_MAX_BYTES=MB)
    proxy = start_nginx(
        tmp_path / "nginx",
        upstream_ports=[web.port],
        static_root=tmp_path,
        media_root=media_root,
        import_max_bytes=MB,
    )
    try:
        with send_head(proxy.port, "POST", "/imports/", {"Content-Length": MB + 1}) as sock:
            status, page = read_response(sock)
        assert (status, "nginx" in page) == (413, True)  # nginx's own page, not daphne's

        headers = {"Content-Length": MB, "Content-Type": "application/octet-stream"}
        headers["Cookie"] = session_cookie(user)
        with send_head(proxy.port, "POST", "/imports/", headers) as sock:
            sock.sendall(b"x" * MB)
            assert read_response(sock)[0] == 403  # Django's answer: no CSRF token
    finally:
        proxy.stop()
