"""Issue 5 §4: latency from the worker producing a state to its arrival in a websocket client.

    python bench/progress_latency.py {sqlite,postgres} [--count 2000] [--rate 100]

A producer process calls report_progress COUNT times (its `updated_at` is the start); a
websocket client in this process, connected to a real daphne, measures arrival - updated_at
and checks the sequence (no message lost). Baseline in the same run: a raw Redis PUBLISH ->
SUBSCRIBE round trip between two processes at the same rate.
"""

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from harness import BASE_DIR, machine, percentile, setup_django, start_redis

parser = argparse.ArgumentParser()
parser.add_argument("vendor", choices=["sqlite", "postgres"])
parser.add_argument("--count", type=int, default=2000)
parser.add_argument("--rate", type=float, default=100)
options = parser.parse_args()

redis_server = start_redis()
setup_django(options.vendor)

import redis  # noqa: E402
import websockets  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402

from exports.kinds import EXPORT_POSTS  # noqa: E402
from testkit.processes import start_daphne  # noqa: E402
from usertasks.models import Task  # noqa: E402
from usertasks.transitions import create_task  # noqa: E402

out = Path(tempfile.mkdtemp(prefix="bench-latency-"))
user, _ = get_user_model().objects.get_or_create(username="bench_latency")
Task.objects.filter(user=user).delete()
task = create_task(task_id=f"{time.time_ns():032x}"[-32:], user=user, kind=EXPORT_POSTS.name)
client = Client(SERVER_NAME="localhost")
client.force_login(user)
cookie = f"sessionid={client.cookies['sessionid'].value}"


def producer(script, *args):
    return subprocess.Popen([sys.executable, str(BASE_DIR / "bench" / script), *map(str, args)])


async def websocket_latencies(url):
    latencies, sequence = [], []
    async with websockets.connect(
        url, additional_headers={"Cookie": cookie, "Origin": web.url}
    ) as socket:
        while (message := json.loads(await socket.recv()))["type"] != "snapshot":
            pass
        process = producer(
            "progress_producer.py", options.vendor, task.pk, options.count, options.rate
        )
        while True:
            message = json.loads(await socket.recv())
            arrived = time.time()
            state = message["task"]
            if state["status"] == "succeeded":
                break
            if state["status"] == "running" and state["done"]:
                produced = datetime.fromisoformat(state["updated_at"]).timestamp()
                latencies.append((arrived - produced) * 1000)
                sequence.append(state["done"])
        process.wait()
    return latencies, sequence


def redis_latencies():
    subscriber = redis.Redis.from_url(redis_server.url).pubsub()
    subscriber.subscribe("bench")
    subscriber.get_message(timeout=1)
    process = producer("redis_baseline.py", redis_server.url, "bench", options.count, options.rate)
    latencies = []
    while True:
        message = subscriber.get_message(timeout=5)
        if message is None:
            continue
        if message["data"] == b"end":
            break
        _, sent = message["data"].split()
        latencies.append((time.time() - float(sent)) * 1000)
    process.wait()
    return latencies


web = start_daphne(out / "daphne.log")
try:
    baseline = redis_latencies()
    latencies, sequence = asyncio.run(
        websocket_latencies(web.url.replace("http", "ws") + "/ws/tasks/")
    )
finally:
    web.stop()
    redis_server.stop()

lost = options.count - len(sequence)
in_order = sequence == sorted(sequence) and len(set(sequence)) == len(sequence)
result = {
    "machine": machine(),
    "vendor": options.vendor,
    "messages": len(latencies),
    "lost": lost,
    "in_order": in_order,
    "websocket_ms": {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99)},
    "redis_baseline_ms": {"p50": percentile(baseline, 0.5), "p99": percentile(baseline, 0.99)},
}
result["ratio_p50"] = round(result["websocket_ms"]["p50"] / result["redis_baseline_ms"]["p50"], 2)
result["ratio_p99"] = round(result["websocket_ms"]["p99"] / result["redis_baseline_ms"]["p99"], 2)
print(json.dumps(result, indent=2))
