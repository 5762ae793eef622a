"""Issue 29: one user's websockets against the site, through nginx in front of two daphne.

    python bench/websocket_flood.py {sqlite,postgres} [--sockets 2000] [--wave 100]
        [--flooders 50] [--flood-seconds 30] [--idle-seconds 60]

One session opens ``--sockets`` websockets, ``--wave`` handshakes at a time; then floods frames
on ``--flooders`` of those still open for ``--flood-seconds`` (1 MiB frames on half of them,
4,000-byte frames on the other half), then stays idle for ``--idle-seconds``. Meanwhile another
user, from another address (flood_bystander.py), follows a task whose progress a producer
reports 10 times a second, loads a page and opens a new tab every half second.

Reports each daphne's RSS before the flood, its peak, and after the idle time; the latency of
every task state the other user received and the longest wait between two; and every answer
the other user got (a 502 among them is the site down for everyone). The flood stops early if
a daphne passes ``--rss-cap-mb``: this machine is shared.
"""

import argparse
import asyncio
import faulthandler
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from harness import machine, setup_django, start_redis

parser = argparse.ArgumentParser()
parser.add_argument("vendor", choices=["sqlite", "postgres"])
parser.add_argument("--sockets", type=int, default=2000)
parser.add_argument("--wave", type=int, default=100)
parser.add_argument("--flooders", type=int, default=50)
parser.add_argument("--flood-seconds", type=float, default=30)
parser.add_argument("--idle-seconds", type=float, default=60)
parser.add_argument("--rss-cap-mb", type=float, default=3000)
options = parser.parse_args()
faulthandler.dump_traceback_later(1200, exit=True)  # never hang a shared machine
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
wanted = 4 * options.sockets + 2048  # here, nginx (two per socket) and daphne inherit it
resource.setrlimit(
    resource.RLIMIT_NOFILE,
    (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard),
)

redis_server = start_redis()
setup_django(options.vendor, TASKS_PER_HOUR=0)

import websockets  # noqa: E402
from sessions import users_with_sessions  # noqa: E402

from exports.kinds import EXPORT_POSTS  # noqa: E402
from testkit import nginx  # noqa: E402
from testkit.processes import free_port, start_daphne, wait_for_port  # noqa: E402
from usertasks.models import Task  # noqa: E402
from usertasks.transitions import create_task  # noqa: E402

HERE = Path(__file__).resolve().parent
REPORTS_PER_SECOND = 10
out = Path(tempfile.mkdtemp(prefix="bench-flood-"))
users, (attacker, bystander) = users_with_sessions("bench_flood", 2)
Task.objects.filter(user__in=users).delete()
followed = create_task(
    task_id=f"{time.time_ns():032x}"[-32:], user=users[1], kind=EXPORT_POSTS.name
)


def rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None  # the process is gone


def start_proxy(upstream_ports):
    """nginx from deploy/nginx/templates/ as the tests run it, with room for every socket."""
    conf = nginx.configure(
        out / "nginx",
        port=free_port(),
        upstream_ports=upstream_ports,
        static_root=out / "static",
        media_root=out / "media",
    )
    conf.write_text(
        re.sub(r"worker_connections \d+", f"worker_connections {wanted}", conf.read_text())
    )
    process = nginx.Nginx(
        nginx.command(nginx.nginx_binary(), conf, "-g", "daemon off;"),
        dict(os.environ),
        conf.parent / "nginx.out",
    )
    process.directory = conf.parent
    process.port = int(
        conf.parent.joinpath("conf.d", "microblog.conf")
        .read_text()
        .split("listen 127.0.0.1:", 1)[1]
        .split(";", 1)[0]
    )
    wait_for_port(process.port, process)
    process.url = f"http://127.0.0.1:{process.port}"
    return process


async def open_sockets(url, origin):
    """``--sockets`` handshakes, ``--wave`` at a time; the answers and the sockets opened."""
    answers, opened = Counter(), []

    async def one():
        try:
            socket = await websockets.connect(
                url,
                additional_headers={"Cookie": f"sessionid={attacker}", "Origin": origin},
                open_timeout=60,
                ping_interval=None,
            )
        except websockets.exceptions.InvalidStatus as refused:
            answers[str(refused.response.status_code)] += 1
            return
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as error:
            answers[type(error).__name__] += 1
            return
        answers["101"] += 1
        opened.append(socket)

    started = time.perf_counter()
    for first in range(0, options.sockets, options.wave):
        await asyncio.gather(*(one() for _ in range(min(options.wave, options.sockets - first))))
    seconds = time.perf_counter() - started
    await asyncio.sleep(2)  # a socket past WEBSOCKETS_PER_USER is closed just after it opens
    return answers, opened, seconds


async def sample_rss(daphnes):
    """Each daphne's peak RSS, through the flood and the idle time after it."""
    while True:
        for web in daphnes:
            web.peak = max(web.peak, rss_mb(web.pid) or 0)
        await asyncio.sleep(0.2)


async def flood(sockets, daphnes):
    frames = [b"x" * 1024 * 1024, "x" * 4000]
    deadline = time.monotonic() + options.flood_seconds
    sent, closed, capped = Counter(), Counter(), []

    async def send(socket, frame):
        size = "1 MiB" if len(frame) > 4000 else "4,000 B"
        try:
            while time.monotonic() < deadline and not capped:
                await socket.send(frame)
                sent[size] += len(frame)
        except websockets.exceptions.ConnectionClosed:
            closed[str(socket.close_code)] += 1
        except AttributeError:  # websockets 15 aborting a transport the server already dropped
            closed["1006"] += 1

    async def watch():
        while time.monotonic() < deadline and not capped:
            if any(web.peak > options.rss_cap_mb for web in daphnes):
                capped.append(True)
            await asyncio.sleep(0.2)

    started = time.perf_counter()
    await asyncio.gather(
        watch(), *(send(socket, frames[i % 2]) for i, socket in enumerate(sockets))
    )
    return {
        "flooders": len(sockets),
        "seconds": round(time.perf_counter() - started, 1),
        "mib_sent": {size: round(n / 2**20, 1) for size, n in sent.items()},
        "closed_by_server": dict(closed),
        "stopped_at_rss_cap": bool(capped),
    }


async def run(proxy, daphnes):
    url = proxy.url.replace("http://", "ws://") + "/ws/tasks/"
    answers, opened, handshake_seconds = await open_sockets(url, proxy.url)
    still_open = [s for s in opened if s.state is websockets.protocol.State.OPEN]
    closed_codes = Counter(str(s.close_code) for s in opened if s not in still_open)
    for web in daphnes:
        web.before = web.peak = rss_mb(web.pid)
    sampling = asyncio.create_task(sample_rss(daphnes))
    flooded = await flood(still_open[: options.flooders], daphnes)
    await asyncio.sleep(options.idle_seconds)
    sampling.cancel()
    for socket in opened:
        if not socket.transport.is_closing():
            socket.transport.abort()
    return {
        "handshakes": {
            "attempted": options.sockets,
            "at_once": options.wave,
            "seconds": round(handshake_seconds, 1),
            "answers": dict(sorted(answers.items())),
            "open_after": len(still_open),
            "closed_at_once_with": dict(closed_codes),
        },
        "flood": flooded,
    }


daphnes = [start_daphne(out / f"daphne-{name}.log") for name in ("a", "b")]
proxy = start_proxy([web.port for web in daphnes])
watcher = subprocess.Popen(
    [sys.executable, str(HERE / "flood_bystander.py"), proxy.url, bystander],
    stdin=subprocess.PIPE,
    stdout=subprocess.PIPE,
    text=True,
)
producer = None
try:
    assert watcher.stdout.readline().strip() == "ready"
    producer = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "progress_producer.py"),
            options.vendor,
            followed.pk,
            str(100_000),
            str(REPORTS_PER_SECOND),
        ]
    )
    time.sleep(5)  # the producer starts (Django) and its reports flow before the burst
    figures = asyncio.run(run(proxy, daphnes))
    alive = [web.alive() for web in daphnes]
    figures["daphne_rss_mb"] = [
        {
            "before": round(web.before, 1),
            "peak": round(web.peak, 1),
            "after_idle": round(rss_mb(web.pid) or 0, 1),
        }
        for web in daphnes
    ]
    watcher.stdin.close()
    figures["bystander"] = json.loads(watcher.stdout.read())
finally:
    if producer is not None:
        producer.kill()
        producer.wait()
    if watcher.poll() is None:
        watcher.kill()
    proxy.stop()
    for web in daphnes:
        web.stop()
    redis_server.stop()

figures.update(
    {
        "vendor": options.vendor,
        "machine": machine(),
        "daphnes_alive": alive,
        "daphne_rss_growth_mb": round(
            max(r["peak"] - r["before"] for r in figures["daphne_rss_mb"]), 1
        ),
        "daphne_rss_growth_after_idle_mb": round(
            max(r["after_idle"] - r["before"] for r in figures["daphne_rss_mb"]), 1
        ),
        "bystander_502": sum(
            n for answer, n in figures["bystander"]["answers"].items() if answer.endswith(" 502")
        ),
    }
)
print(json.dumps(figures, indent=2))
