"""Issue 15: daphne's memory while clients download a large export, behind nginx and direct.

    python bench/download_memory.py {sqlite,postgres} [--posts 1000000] [--clients 5]
        [--direct-clients 3] [--slow-seconds 20]

One export file is made once (bench/export_once.py). Then, for each path, a fresh daphne:
- "nginx": daphne answers with X-Accel-Redirect (EXPORT_DOWNLOAD_ACCEL_PREFIX) and nginx, from
  deploy/nginx/templates/, sends the file (the production topology);
- "direct": daphne sends the file itself (FileResponse, what `make run` does).
``clients`` (``direct-clients`` on the direct path) read the whole file at once, as fast as
they can; then one client reads at 1 MB/s for ``slow-seconds`` and hangs up. The figure is
daphne's RSS growth: the peak (sampled every 20 ms) minus its RSS before, and what is left
after. Targets: ≤ 16 MB behind nginx (5 clients and the slow one), ≤ 64 MB direct (3 clients).
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness import BASE_DIR, machine, setup_django, start_redis, user_with_posts

parser = argparse.ArgumentParser()
parser.add_argument("vendor", choices=["sqlite", "postgres"])
parser.add_argument("--posts", type=int, default=1_000_000)
parser.add_argument("--clients", type=int, default=5)
parser.add_argument("--direct-clients", type=int, default=3)
parser.add_argument("--slow-seconds", type=float, default=20)
options = parser.parse_args()

out = Path(tempfile.mkdtemp(prefix="bench-download-"))
media = out / "media"
redis_server = start_redis()
setup_django(options.vendor, MEDIA_ROOT=media, STATIC_MANIFEST="false")

import psutil  # noqa: E402
from django.test import Client  # noqa: E402

from testkit.nginx import ACCEL_PREFIX, start_nginx  # noqa: E402
from testkit.processes import start_daphne  # noqa: E402
from usertasks.models import Task  # noqa: E402

MB = 2**20
owner = user_with_posts("bench_big", options.posts)
subprocess.run(
    [sys.executable, str(BASE_DIR / "bench" / "export_once.py"), options.vendor, "bench_big"],
    check=True,
    capture_output=True,
    env={**os.environ, "EXPORT_ATTACHMENT_MAX_BYTES": "0"},
)
task = Task.objects.get(user=owner, status="succeeded")
size = task.result_size
client = Client(SERVER_NAME="localhost")
client.force_login(owner)
cookie = f"sessionid={client.cookies['sessionid'].value}"
path = f"/exports/{task.pk}/download"


def download(port, rate=None, seconds=None):
    """GET the export; at ``rate`` bytes/s for ``seconds`` s and then hang up, if given."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request("GET", path, headers={"Cookie": cookie})
    response = connection.getresponse()
    assert response.status == 200, response.status
    received, started = 0, time.monotonic()
    while chunk := response.read(64 * 1024):
        received += len(chunk)
        if rate:
            elapsed = time.monotonic() - started
            if elapsed >= seconds:
                break
            time.sleep(max(0.0, received / rate - elapsed))
    connection.close()
    if not rate:
        assert received == size, (received, size)
    return received


def measure(pid, port, clients, **slow):
    """daphne's RSS before, at peak and after ``clients`` downloads at once."""
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
    started = time.monotonic()
    threads = [threading.Thread(target=download, args=(port,), kwargs=slow) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    time.sleep(1)  # what daphne keeps once the downloads are over
    running = False
    sampler.join()
    after = process.memory_info().rss
    return {
        "clients": clients,
        "seconds": round(seconds, 2),
        "rss_before_mb": round(before / MB, 1),
        "rss_peak_mb": round(peak / MB, 1),
        "growth_mb": round((peak - before) / MB, 1),
        "kept_after_mb": round((after - before) / MB, 1),
    }


def warm_up(port):
    """One small request first, so Django's first-request imports are not counted."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", f"/exports/{task.pk}/status", headers={"Cookie": cookie})
    connection.getresponse().read()
    connection.close()


slow = {"rate": MB, "seconds": options.slow_seconds}
results = {}
try:
    web = start_daphne(out / "web-nginx.log", EXPORT_DOWNLOAD_ACCEL_PREFIX=ACCEL_PREFIX)
    proxy = start_nginx(
        out / "nginx", upstream_ports=[web.port], static_root=out / "static", media_root=media
    )
    try:
        warm_up(proxy.port)
        results["nginx"] = measure(web.pid, proxy.port, options.clients)
        results["nginx_slow_client"] = measure(web.pid, proxy.port, 1, **slow)
    finally:
        proxy.stop()
        web.stop()
    web = start_daphne(out / "web-direct.log")
    try:
        warm_up(web.port)
        results["direct"] = measure(web.pid, web.port, options.direct_clients)
        results["direct_slow_client"] = measure(web.pid, web.port, 1, **slow)
    finally:
        web.stop()
finally:
    redis_server.stop()

print(
    json.dumps(
        {
            "machine": machine(),
            "vendor": options.vendor,
            "posts": options.posts,
            "file_mb": round(size / MB, 1),
            **results,
            "bounds_mb": {"nginx": 16, "nginx_slow_client": 16, "direct": 64},
        },
        indent=2,
    )
)
