"""Issue 5 §7: exports per minute for USERS users x POSTS posts with 1 and with 2 workers.

    python bench/worker_throughput.py {sqlite,postgres} [--users 100] [--posts 10000]

The 1-worker run is the baseline of the 2-worker one (same invocation, same data).
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from harness import machine, setup_django, start_redis, user_with_posts

parser = argparse.ArgumentParser()
parser.add_argument("vendor", choices=["sqlite", "postgres"])
parser.add_argument("--users", type=int, default=100)
parser.add_argument("--posts", type=int, default=10_000)
options = parser.parse_args()

redis_server = start_redis()
setup_django(options.vendor, TASKS_PER_HOUR=0)

from exports.services import export_launch  # noqa: E402
from testkit.processes import Process  # noqa: E402
from usertasks.models import Task  # noqa: E402

out = Path(tempfile.mkdtemp(prefix="bench-workers-"))
users = [user_with_posts(f"bench_w{i:03d}", options.posts) for i in range(options.users)]


def run(workers):
    Task.objects.filter(user__in=users).delete()
    processes = [
        Process(
            [sys.executable, "manage.py", "rqworker"],
            {**os.environ, "MEDIA_ROOT": str(out / "media")},
            out / f"w{workers}-{i}.log",
        )
        for i in range(workers)
    ]
    try:
        while not all("Listening on" in p.output() for p in processes):
            time.sleep(0.05)
        started = time.perf_counter()
        for user in users:
            export_launch(user=user)
        while Task.objects.filter(user__in=users, status__in=("queued", "running")).exists():
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        for process in processes:
            process.stop()
    assert Task.objects.filter(user__in=users, status="succeeded").count() == len(users)
    return elapsed


try:
    one = run(1)
    two = run(2)
finally:
    redis_server.stop()

print(
    json.dumps(
        {
            "machine": machine(),
            "vendor": options.vendor,
            "exports": options.users,
            "posts_each": options.posts,
            "one_worker": {
                "seconds": round(one, 2),
                "exports_per_minute": round(60 * options.users / one),
            },
            "two_workers": {
                "seconds": round(two, 2),
                "exports_per_minute": round(60 * options.users / two),
            },
            "speedup": round(one / two, 2),
        },
        indent=2,
    )
)
