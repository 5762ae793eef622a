"""Issue 29: daphne's memory while clients send it large request bodies, direct and behind nginx.

    python bench/upload_memory.py {sqlite,postgres} [--uploads 8] [--upload-mb 200]
        [--anonymous 3] [--anonymous-mb 1024]

For each path, a fresh daphne (default IMPORT_MAX_BYTES, 256 MB; REQUEST_MAX_BYTES, 2.5 MB):
- "uploads": ``uploads`` users each import an archive of ``upload-mb`` MB at once, as the form
  does (multipart, logged in, CSRF token); under the limit, so each body is taken whole;
- "anonymous": ``anonymous`` clients without a session POST ``anonymous-mb`` MB to `/` at once,
  each sending its whole body whatever the server answers.
"direct" is daphne alone (`make run`); "nginx" is nginx from deploy/nginx/templates/ in front.
The figure is daphne's RSS growth: the peak (sampled every 20 ms) minus its RSS before, and what
it still holds a second after. Target: ≤ 64 MB for each. ``refuses_early`` says whether daphne
answered a body declared too large before it was sent (serverpatches/request_limits.py in force).
"""

import argparse
import http.client
import json
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

from harness import machine, setup_django, start_redis

parser = argparse.ArgumentParser()
parser.add_argument("vendor", choices=["sqlite", "postgres"])
parser.add_argument("--uploads", type=int, default=8)
parser.add_argument("--upload-mb", type=int, default=200)
parser.add_argument("--anonymous", type=int, default=3)
parser.add_argument("--anonymous-mb", type=int, default=1024)
options = parser.parse_args()

out = Path(tempfile.mkdtemp(prefix="bench-upload-"))
media = out / "media"
redis_server = start_redis()
setup_django(options.vendor, MEDIA_ROOT=media, STATIC_MANIFEST="false")

import psutil  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402

from testkit.nginx import start_nginx  # noqa: E402
from testkit.processes import start_daphne  # noqa: E402
from testkit.raw_http import browser_headers, session_cookie  # noqa: E402
from usertasks.models import Task  # noqa: E402

MB = 2**20
BLOCK = b"x" * MB
BOUNDARY = "benchboundary"


def post(port, path, size, headers, preamble=b"", epilogue=b""):
    """POST ``size`` bytes (between ``preamble`` and ``epilogue``), all of it whatever the server
    answers meanwhile; the response's status and the seconds until it came."""
    length = len(preamble) + size + len(epilogue)
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {length}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=600) as sock:
        try:
            sock.sendall("\r\n".join(head).encode() + b"\r\n\r\n" + preamble)
            for _ in range(size // MB):
                sock.sendall(BLOCK)
            sock.sendall(b"x" * (size % MB) + epilogue)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server ended the connection; its answer may still be there to read
        try:
            response = http.client.HTTPResponse(sock)
            response.begin()
            response.read()
            status = response.status
        except (ConnectionResetError, http.client.RemoteDisconnected):
            status = "reset"
    return status, time.monotonic() - started


def upload(port, user, size):
    headers = {
        **browser_headers(port, session_cookie(user)),
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    preamble = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="archive"; filename="posts.json"'
        "\r\nContent-Type: application/json\r\n\r\n"
    ).encode()
    return post(port, "/imports/", size, headers, preamble, f"\r\n--{BOUNDARY}--\r\n".encode())


def measure(pid, jobs):
    """daphne's RSS before, at peak and after running ``jobs`` (callables) at once."""
    process = psutil.Process(pid)
    before = process.memory_info().rss
    peak, running = before, True

    def sample():
        nonlocal peak
        while running:
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    answers = [None] * len(jobs)

    def run(index):
        answers[index] = jobs[index]()

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    time.sleep(1)  # what daphne keeps once the requests are over
    running = False
    sampler.join()
    after = process.memory_info().rss
    return {
        "clients": len(jobs),
        "statuses": sorted({str(status) for status, _ in answers}),
        "slowest_answer_s": round(max(elapsed for _, elapsed in answers), 2),
        "seconds": round(seconds, 2),
        "rss_before_mb": round(before / MB, 1),
        "rss_peak_mb": round(peak / MB, 1),
        "growth_mb": round((peak - before) / MB, 1),
        "kept_after_mb": round((after - before) / MB, 1),
    }


def refuses_early(port):
    """Does daphne answer a body declared too large before any of it is sent?"""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000\r\n\r\n")
        try:
            return sock.recv(12) == b"HTTP/1.1 413"
        except TimeoutError:
            return False


def scenarios(web_pid, port, label):
    users = [
        get_user_model().objects.create(username=f"bench_upload_{label}_{i}")
        for i in range(options.uploads)
    ]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/healthz")
    connection.getresponse().read()
    connection.close()
    upload(port, users[0], MB)  # Django's first upload: its imports are not what is measured
    Task.objects.filter(user=users[0]).delete()
    size, anonymous_size = options.upload_mb * MB, options.anonymous_mb * MB
    anonymous_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return {
        "uploads": measure(web_pid, [lambda u=u: upload(port, u, size) for u in users]),
        "anonymous": measure(
            web_pid,
            [lambda: post(port, "/", anonymous_size, anonymous_headers)] * options.anonymous,
        ),
    }


results = {}
try:
    web = start_daphne(out / "web-direct.log", MEDIA_ROOT=media)
    try:
        early = refuses_early(web.port)
        results["direct"] = scenarios(web.pid, web.port, "direct")
    finally:
        web.stop()
    web = start_daphne(out / "web-nginx.log", MEDIA_ROOT=media)
    proxy = start_nginx(
        out / "nginx", upstream_ports=[web.port], static_root=out / "static", media_root=media
    )
    try:
        results["nginx"] = scenarios(web.pid, proxy.port, "nginx")
    finally:
        proxy.stop()
        web.stop()
finally:
    redis_server.stop()
    get_user_model().objects.filter(username__startswith="bench_upload_").delete()
    shutil.rmtree(out)  # the uploads: gigabytes

print(
    json.dumps(
        {
            "machine": machine(),
            "vendor": options.vendor,
            "refuses_early": early,
            "upload_mb": options.upload_mb,
            "anonymous_mb": options.anonymous_mb,
            **results,
            "bound_mb": 64,
        },
        indent=2,
    )
)
