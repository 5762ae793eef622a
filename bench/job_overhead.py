"""What a job costs beyond its own work: CPU per export through `manage.py rqworker`, which
forks a work-horse per job, against the same export run in this process (the baseline).

    python bench/job_overhead.py {sqlite,postgres} [--exports 30] [--posts 2000]

The exports are the burst's (websocket_scale.py): 2,000 posts each, attached to the e-mail. The
worker's CPU is counted from its children's usage, less a worker started and stopped with
nothing to do (its own start-up); the database server's CPU per export is reported beside it
when it is PostgreSQL on this machine.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import cpu_seconds, machine, setup_django, start_redis, user_with_posts

parser = argparse.ArgumentParser()
parser.add_argument("vendor", choices=["sqlite", "postgres"])
parser.add_argument("--exports", type=int, default=30)
parser.add_argument("--posts", type=int, default=2000)
options = parser.parse_args()

redis_server = start_redis()
setup_django(options.vendor, TASKS_PER_HOUR=0)

from django.db import connection  # noqa: E402

from exports.jobs import export_posts  # noqa: E402
from exports.kinds import EXPORT_POSTS  # noqa: E402
from exports.services import export_launch  # noqa: E402
from usertasks.models import Task  # noqa: E402
from usertasks.transitions import create_task  # noqa: E402

out = Path(tempfile.mkdtemp(prefix="bench-job-overhead-"))
users = [user_with_posts(f"bench_jo{i:03d}", options.posts) for i in range(options.exports)]


def own_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def postgres_cpu():
    """The server's backends' CPU, once they have ended (the postmaster reaps them); None
    unless the server is PostgreSQL on this machine."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        postmaster = Path(cursor.fetchone()[0]) / "postmaster.pid"
    if not postmaster.exists():
        return None
    return cpu_seconds(postmaster.read_text().split()[0], reaped_children=True)


def run_worker():
    """`manage.py rqworker --burst` until the queue is empty; its and its horses' CPU."""
    before = children_cpu()
    subprocess.run(
        [sys.executable, "manage.py", "rqworker", "--burst"],
        env={**os.environ, "MEDIA_ROOT": str(out / "media")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return children_cpu() - before


def succeeded():
    return Task.objects.filter(user__in=users, status="succeeded").count()


Task.objects.filter(user__in=users).delete()
started = own_cpu()
for user in users:
    task = create_task(task_id=f"{time.time_ns():032x}"[-32:], user=user, kind=EXPORT_POSTS.name)
    export_posts(task.pk)
in_process = (own_cpu() - started) / len(users)
assert succeeded() == len(users)

Task.objects.filter(user__in=users).delete()
idle_worker = run_worker()
for user in users:
    export_launch(user=user)
database_before = postgres_cpu()
through_worker = (run_worker() - idle_worker) / len(users)
database_after = postgres_cpu()
assert succeeded() == len(users), succeeded()
redis_server.stop()

print(
    json.dumps(
        {
            "machine": machine(),
            "vendor": options.vendor,
            "exports": len(users),
            "posts_per_export": options.posts,
            "cpu_ms_per_export_in_process": round(in_process * 1000, 1),
            "cpu_ms_per_export_through_worker": round(through_worker * 1000, 1),
            "worker_start_cpu_ms": round(idle_worker * 1000, 1),
            "overhead_ratio": round(through_worker / in_process, 2),
            "postgres_cpu_ms_per_export_through_worker": None
            if database_before is None
            else round((database_after - database_before) / len(users) * 1000, 1),
        },
        indent=2,
    )
)
