"""Issue 5 §5: one daphne process, thousands of authenticated websockets, 50 exports running.

The 50 owners press "Export your posts" over HTTP from a process of their own
(launch_exports.py): the states' path is a user's, from the view to every tab.

    python bench/websocket_scale.py {sqlite,postgres} [--clients 10000] [--exports 50] [--tabs 20]

Reports daphne's RSS per connection, whether every owner received every final state, the
latency of all messages, and daphne's CPU seconds per minute -- compared in the same run with
the polling design (the same clients fetching /exports/<id>/status every 500 ms).

Each owner of an export has ``tabs`` of the sockets open (a user with several tabs), so that the
latency percentiles rest on more than 1,000 deliveries (every state reaches every tab); the
other sockets are idle users'. ``--bursts`` runs the 50 exports that many times over, one burst
after the other ends, on the same sockets: each burst's 3,000 deliveries are 150 states, so one
stall moves a single burst's p99; the percentiles are over all bursts' deliveries, and each
burst's own p99 is kept beside them.

``--messages N`` then sends N private messages, one after the other over HTTP, to the export
owners in turn (send_messages.py): each reaches every tab of its recipient as the new unread
count. Its latency runs, as a task state's does, from the time the server stored (the
message's timestamp) to each tab's receipt; ``from_post_ms`` also counts the HTTP request
before it, from just before the sender's POST.

daphne runs at nice -5, ahead of the workers, as the deployment runs it (``as_deployed``).
"""

import argparse
import asyncio
import faulthandler
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from harness import cpu_seconds, machine, percentile, setup_django, start_redis, user_with_posts

parser = argparse.ArgumentParser()
parser.add_argument("vendor", choices=["sqlite", "postgres"])
parser.add_argument("--clients", type=int, default=10_000)
parser.add_argument("--exports", type=int, default=50)
parser.add_argument("--tabs", type=int, default=20)
parser.add_argument("--poll-seconds", type=int, default=20)
parser.add_argument("--bursts", type=int, default=1)
parser.add_argument("--messages", type=int, default=0)
options = parser.parse_args()
faulthandler.dump_traceback_later(1200, exit=True)  # never hang a shared machine
# One descriptor per socket here and in daphne (a child: it inherits the limit), plus slack.
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
wanted = options.clients + 2048
if hard != resource.RLIM_INFINITY and hard < wanted:
    sys.exit(f"{options.clients} sockets need {wanted} file descriptors; the hard limit is {hard}")
resource.setrlimit(
    resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else hard, hard)
)

redis_server = start_redis()
setup_django(options.vendor, TASKS_PER_HOUR=0, MESSAGES_PER_HOUR=0)

import websockets  # noqa: E402
from sessions import users_with_sessions  # noqa: E402

from private_messages.models import Message  # noqa: E402
from testkit.processes import Process, start_daphne  # noqa: E402
from usertasks.models import Task  # noqa: E402

out = Path(tempfile.mkdtemp(prefix="bench-ws-"))
users, sessions = users_with_sessions("bench_ws", options.clients)
owners = [user_with_posts(u.username, 2000) for u in users[: options.exports]]
# Tabs 2..N of each owner replace idle users' sockets: the socket count stays --clients.
for extra in range(options.exports, min(options.exports * options.tabs, options.clients)):
    sessions[extra] = sessions[extra % options.exports]
Task.objects.filter(user__in=users).delete()
Message.objects.filter(recipient__in=users).delete()


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Listener:
    def __init__(self):
        self.latencies = []
        self.by_status = {}  # status -> latencies, to see which states are late
        self.finals = {}
        self.unread = []  # (session, socket number, unread count, time received)

    async def listen(self, url, origin, session, opened):
        try:
            socket = await websockets.connect(
                url,
                additional_headers={"Cookie": f"sessionid={session}", "Origin": origin},
                open_timeout=120,
                max_queue=None,
                ping_interval=None,  # as a browser: it answers daphne's pings, sends none
            )
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as error:
            opened.set_exception(error)
            return
        opened.set_result(True)
        async with socket:
            async for raw in socket:
                message = json.loads(raw)
                if message["type"] == "messages" and message["unread"]:
                    self.unread.append((session, id(socket), message["unread"], time.time()))
                if message["type"] != "task":
                    continue
                state = message["task"]
                produced = datetime.fromisoformat(state["updated_at"]).timestamp()
                latency = (time.time() - produced) * 1000
                self.latencies.append(latency)
                self.by_status.setdefault(state["status"], []).append(latency)
                if state["status"] in ("succeeded", "failed", "cancelled"):
                    self.finals[state["id"]] = state["status"]


async def ready_launcher(web):
    """launch_exports.py, once it has each owner's CSRF token and waits for "go"."""
    launcher = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("launch_exports.py")), web.url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    launcher.stdin.write(json.dumps(sessions[: len(owners)]) + "\n")
    launcher.stdin.flush()
    assert (await asyncio.to_thread(launcher.stdout.readline)).strip() == "ready"
    return launcher


async def burst(listener, launcher, earlier):
    """The owners press "Export your posts" together; returns their tasks once all are final."""
    launcher.stdin.write("go\n")
    launcher.stdin.close()
    codes = json.loads(await asyncio.to_thread(launcher.stdout.readline))["codes"]
    assert codes == [302] * len(owners), codes
    launched = await asyncio.to_thread(
        lambda: list(
            Task.objects.filter(user__in=owners)
            .exclude(pk__in=earlier)
            .values_list("pk", flat=True)
        )
    )
    assert len(launched) == len(owners), launched
    print(f"{len(launched)} exports launched", file=sys.stderr)
    deadline = time.perf_counter() + 180
    while len([t for t in launched if t in listener.finals]) < len(launched):
        if time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.1)
    return launched


async def websocket_phase(web):
    listener = Listener()
    url = web.url.replace("http", "ws") + "/ws/tasks/"
    rss_before = rss_kib(web.pid)
    gate = asyncio.Semaphore(40)  # below the listen backlog of daphne (Twisted: 50)
    tasks = []

    async def open_one(session):
        async with gate:
            opened = asyncio.get_running_loop().create_future()
            tasks.append(asyncio.create_task(listener.listen(url, web.url, session, opened)))
            await opened

    started = time.perf_counter()
    await asyncio.gather(*(open_one(s) for s in sessions))
    connect_seconds = time.perf_counter() - started
    print(f"{len(sessions)} connected in {connect_seconds:.1f} s", file=sys.stderr)
    await asyncio.sleep(2)
    rss_after = rss_kib(web.pid)
    probe = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("ws_probe.py")),
            url,
            web.url,
            str(len(owners) * options.bursts),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    probe.stdin.write(json.dumps(sessions[: len(owners)]))
    probe.stdin.close()
    assert (await asyncio.to_thread(probe.stdout.readline)).strip() == "ready"
    launcher = await ready_launcher(web)
    listener.latencies.clear()
    listener.by_status.clear()
    # This process is the instrument: a collection of its 5,000 sockets' objects stops every
    # socket's reads at once, and would be counted as the site's latency. None runs in a burst.
    gc.collect()
    gc.freeze()
    gc.disable()
    cpu_start, wall_start = cpu_seconds(web.pid), time.perf_counter()
    launched, burst_p99 = [], []
    for number in range(options.bursts):
        counted = len(listener.latencies)
        launched += await burst(listener, launcher, launched)
        burst_p99.append(round(percentile(listener.latencies[counted:], 0.99), 2))
        if number + 1 < options.bursts:
            launcher = await ready_launcher(web)  # between bursts: no state is in flight
    exports_seconds = time.perf_counter() - wall_start
    messages = await message_burst(web, listener) if options.messages else None
    gc.enable()
    gc.unfreeze()
    await asyncio.sleep(max(0, 10 - exports_seconds))  # at least 10 s of CPU measurement
    cpu_per_minute = (cpu_seconds(web.pid) - cpu_start) / (time.perf_counter() - wall_start) * 60
    probe_result = json.loads(await asyncio.to_thread(probe.stdout.read))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "probe_process": probe_result,
        "connections": len(sessions),
        "connect_seconds": round(connect_seconds, 1),
        "daphne_rss_mib_before": round(rss_before / 1024, 1),
        "daphne_rss_mib_after": round(rss_after / 1024, 1),
        "rss_kib_per_connection": round((rss_after - rss_before) / len(sessions), 1),
        "exports": len(launched),
        "final_states_received": len([t for t in launched if listener.finals.get(t)]),
        "all_succeeded": all(listener.finals.get(t) == "succeeded" for t in launched),
        "bursts": options.bursts,
        "burst_p99_ms": burst_p99,
        "exports_seconds": round(exports_seconds, 1),
        "messages": len(listener.latencies),
        "latency_ms": {
            "p50": round(percentile(listener.latencies, 0.5), 2),
            "p99": round(percentile(listener.latencies, 0.99), 2),
        },
        "latency_ms_by_status": {
            status: {
                "messages": len(values),
                "p50": round(percentile(values, 0.5), 2),
                "p99": round(percentile(values, 0.99), 2),
            }
            for status, values in sorted(listener.by_status.items())
        },
        "daphne_cpu_seconds_per_minute": round(cpu_per_minute, 2),
        "message_burst": messages,
    }


async def message_burst(web, listener):
    """--messages private messages to the owners, in turn: the latency of each tab's new count."""
    sender = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("send_messages.py")),
            web.url,
            str(options.messages),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    recipients = [owner.username for owner in owners]
    sender.stdin.write(json.dumps({"session": sessions[-1], "recipients": recipients}) + "\n")
    sender.stdin.flush()
    assert (await asyncio.to_thread(sender.stdout.readline)).strip() == "ready"
    owners_sessions = set(sessions[: len(owners)])
    expected = options.messages * sum(s in owners_sessions for s in sessions) // len(owners)
    started = time.perf_counter()
    sender.stdin.write("go\n")
    sender.stdin.close()
    result = json.loads(await asyncio.to_thread(sender.stdout.readline))
    assert result["codes"] == [302] * options.messages, set(result["codes"])
    posted_at, counts = {}, {}  # (session, count) -> when the message that made it was sent
    for to, moment in result["sent"]:
        counts[to] = counts.get(to, 0) + 1
        posted_at[(sessions[to], counts[to])] = moment
    stored_at, counts = {}, {}  # (session, count) -> that message's timestamp
    index = {owner.pk: number for number, owner in enumerate(owners)}
    rows = await asyncio.to_thread(
        lambda: list(
            Message.objects.filter(recipient__in=owners)
            .order_by("timestamp", "id")
            .values_list("recipient_id", "timestamp")
        )
    )
    for recipient_id, moment in rows:
        to = index[recipient_id]
        counts[to] = counts.get(to, 0) + 1
        stored_at[(sessions[to], counts[to])] = moment.timestamp()
    deadline = time.perf_counter() + 60
    while len({(s, k, c) for s, k, c, _ in listener.unread}) < expected:
        if time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.1)
    seconds = time.perf_counter() - started
    first = {}
    for session, socket, count, received in listener.unread:
        first.setdefault((session, socket, count), received)
    latencies, from_post = [], []
    for (session, _socket, count), received in first.items():
        if (session, count) in stored_at:
            latencies.append((received - stored_at[(session, count)]) * 1000)
            from_post.append((received - posted_at[(session, count)]) * 1000)
    return {
        "messages": options.messages,
        "recipients": len(owners),
        "deliveries_expected": expected,
        "deliveries": len(latencies),
        "seconds": round(seconds, 1),
        "latency_ms": {
            "p50": round(percentile(latencies, 0.5), 2),
            "p99": round(percentile(latencies, 0.99), 2),
        },
        "from_post_ms": {
            "p50": round(percentile(from_post, 0.5), 2),
            "p99": round(percentile(from_post, 0.99), 2),
        },
    }


async def polling_phase(web, task_ids):
    """The polling design: every client GETs a task's status every 500 ms (keep-alive).

    Owners poll their own task; the other clients poll the first owner's, through that
    owner's session (the server's work per request is the same)."""
    port = web.port
    done = {"requests": 0, "errors": 0}
    stop_at = time.perf_counter() + options.poll_seconds

    connecting = asyncio.Semaphore(40)  # below daphne's listen backlog, as for websockets

    async def poll(session, task_id):
        request = (
            f"GET /exports/{task_id}/status HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: sessionid={session}\r\n\r\n"
        ).encode()
        try:
            async with connecting:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port), 10
                )
        except (OSError, TimeoutError):
            done["errors"] += 1
            return
        try:
            while time.perf_counter() < stop_at:
                tick = time.perf_counter()
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                await asyncio.wait_for(reader.readexactly(length), 10)
                done["requests"] += 1
                await asyncio.sleep(max(0, 0.5 - (time.perf_counter() - tick)))
        except (OSError, TimeoutError, asyncio.IncompleteReadError, StopIteration):
            done["errors"] += 1
        finally:
            writer.close()

    cpu_start, wall_start = cpu_seconds(web.pid), time.perf_counter()
    await asyncio.gather(
        *(
            poll(sessions[i], task_ids[i]) if i < len(task_ids) else poll(sessions[0], task_ids[0])
            for i in range(len(sessions))
        )
    )
    elapsed = time.perf_counter() - wall_start
    return {
        "clients": len(sessions),
        "requested_per_second": len(sessions) * 2,
        "served_per_second": round(done["requests"] / elapsed, 1),
        "errors": done["errors"],
        "daphne_cpu_seconds_per_minute": round(
            (cpu_seconds(web.pid) - cpu_start) / elapsed * 60, 2
        ),
    }


def as_deployed(web):
    """daphne at nice -5, as deploy/systemd/microblog-web.service runs it (docker-compose.yml:
    cpu_shares); the workers stay at 0. Needs root here; the JSON records what daphne ran at."""
    try:
        for thread in os.listdir(f"/proc/{web.pid}/task"):  # Linux: nice is per thread
            os.setpriority(os.PRIO_PROCESS, int(thread), -5)
    except PermissionError:
        print("not root: daphne runs at nice 0, not as deployed (-5)", file=sys.stderr)
    return os.getpriority(os.PRIO_PROCESS, web.pid)


web = start_daphne(out / "daphne.log")
daphne_nice = as_deployed(web)
workers = [
    Process(
        [sys.executable, "manage.py", "rqworker"],
        {**os.environ, "MEDIA_ROOT": str(out / "media")},
        out / f"worker{i}.log",
    )
    for i in range(2)
]
try:
    websocket = asyncio.run(websocket_phase(web))
finally:
    for worker in workers:
        worker.stop()
    web.stop()
owner_tasks = [Task.objects.filter(user=u).latest("created_at").pk for u in owners]
web = start_daphne(out / "daphne-polling.log")
as_deployed(web)
try:
    polling = asyncio.run(polling_phase(web, owner_tasks))
finally:
    web.stop()
    redis_server.stop()

print(
    json.dumps(
        {
            "machine": machine(),
            "vendor": options.vendor,
            "daphne_nice": daphne_nice,
            "websockets": websocket,
            "polling_500ms": polling,
            "cpu_ratio_polling_over_websockets": round(
                polling["daphne_cpu_seconds_per_minute"]
                / websocket["daphne_cpu_seconds_per_minute"],
                1,
            ),
        },
        indent=2,
    )
)
