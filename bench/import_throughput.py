"""Issue 16: import throughput vs the database floor, and the worker's memory.

    python bench/import_throughput.py {sqlite,postgres} [--posts 1000000] [--runs 1]

Real processes: daphne receives the upload (multipart POST /imports/), an RQ worker imports it.
Measured from the POST to the task's `succeeded`, against a floor measured in the same run:
writing the same rows into the same table in one go (COPY FROM STDIN on PostgreSQL, one
executemany on SQLite), rows already built in memory. The work-horse's peak RSS is its VmHWM.
Prints one JSON object (bench/run.py records it).
"""

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness import machine, setup_django, start_redis, summary

parser = argparse.ArgumentParser()
parser.add_argument("vendor", choices=["sqlite", "postgres"])
parser.add_argument("--posts", type=int, default=1_000_000)
parser.add_argument("--runs", type=int, default=1)
options = parser.parse_args()

redis_server = start_redis()
setup_django(options.vendor, TASKS_PER_HOUR=0)

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from blog.models import Post  # noqa: E402
from testkit import processes  # noqa: E402
from testkit.visitor import Visitor  # noqa: E402
from usertasks.models import Task  # noqa: E402

PASSWORD = "bench-import-password"
WORDS = 'hello "quoted" back\\slash café 🎉 tab\there Привет こんにちは line\u2028sep'.split(" ")
out = Path(tempfile.mkdtemp(prefix="bench-import-"))
media = out / "media"


def rows(count):
    """The archive's posts: ~140-character bodies, distinct past timestamps."""
    start = datetime(2015, 1, 1, tzinfo=UTC)
    for i in range(count):
        body = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(20))[:135] + f" {i}"
        yield body, start + timedelta(seconds=i, microseconds=i % 1_000_000)


def write_archive(path, count):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('{"user": "bench", "posts": [\n')
        for i, (body, moment) in enumerate(rows(count)):
            stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            handle.write(json.dumps({"body": body, "timestamp": stamp}, ensure_ascii=False))
            handle.write(",\n" if i < count - 1 else "\n")
        handle.write("]}\n")


def user(username):
    person, _ = get_user_model().objects.get_or_create(
        username=username, defaults={"email": f"{username}@example.com"}
    )
    person.set_password(PASSWORD)
    person.save()
    return person


def delete_posts(person):
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{Post._meta.db_table}" WHERE author_id = %s', [person.pk])


def floor(person):
    """The same rows written into the same table by the database's fastest bulk path."""
    delete_posts(person)
    table = Post._meta.db_table
    data = [(person.pk, body, moment) for body, moment in rows(options.posts)]
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f'COPY "{table}" (author_id, body, timestamp) FROM STDIN'
            with cursor.cursor.copy(sql) as copy:
                for row in data:
                    copy.write_row(row)
        else:
            adapt = connection.ops.adapt_datetimefield_value
            cursor.executemany(
                f'INSERT INTO "{table}" (author_id, body, timestamp) VALUES (%s, %s, %s)',
                [(a, b, adapt(t)) for a, b, t in data],
            )
    elapsed = time.perf_counter() - started
    delete_posts(person)
    return elapsed


def horse_peak_rss_mb(worker):
    pid = processes.work_horse_pid(worker)
    try:
        return None if pid is None else processes.peak_rss_mb(pid)
    except FileNotFoundError:  # the horse ended between the two looks
        return None


def flow(site, worker, person, archive):
    """From the upload's POST to the task's `succeeded`; returns (seconds, horse peak RSS,
    phases): the phases split it by the task's own times, into the upload (POST until the
    view created the task, the archive stored), the wait for a worker, and the job."""
    delete_posts(person)
    Task.objects.filter(user=person).delete()
    visitor = Visitor(site.url, timeout=600)
    visitor.log_in(person.username, PASSWORD)
    started = time.perf_counter()
    task_id = visitor.start_import(archive)
    peak = 0.0
    task = Task.objects.get(pk=task_id)
    while task.status in ("queued", "running"):
        peak = max(peak, horse_peak_rss_mb(worker) or 0.0)
        time.sleep(0.02)
        task.refresh_from_db(fields=["status"])
    elapsed = time.perf_counter() - started
    assert task.status == "succeeded", Task.objects.get(pk=task_id).error
    assert Post.objects.filter(author=person).count() == options.posts
    task = Task.objects.get(pk=task_id)
    job = (task.finished_at - task.started_at).total_seconds()
    queued = (task.started_at - task.created_at).total_seconds()
    return elapsed, peak, {"upload_s": elapsed - job - queued, "queued_s": queued, "job_s": job}


archive = out / "posts.json"
write_archive(archive, options.posts)
floor_user, import_user = user("bench_import_floor"), user("bench_import")
env = {"MEDIA_ROOT": media, "TASKS_PER_HOUR": 0, "DEBUG": "false"}
site = processes.start_daphne(out / "daphne.log", **env)
worker = processes.start_worker(out / "worker.log", **env)
try:
    while "Listening on" not in worker.output():
        time.sleep(0.05)
    floors, flows, peaks, phases = [], [], [], []
    for _ in range(options.runs):
        floors.append(floor(floor_user))
        seconds, peak, split = flow(site, worker, import_user, archive)
        flows.append(seconds)
        peaks.append(peak)
        phases.append(split)
    delete_posts(import_user)
finally:
    worker.stop()
    site.stop()
    redis_server.stop()

floor_s, flow_s = summary(floors), summary(flows)
result = {
    "machine": machine(),
    "vendor": options.vendor,
    "posts": options.posts,
    "file_mb": round(archive.stat().st_size / 2**20, 1),
    "floor": "COPY FROM STDIN" if options.vendor == "postgres" else "executemany",
    "floor_s": floor_s,
    "post_to_succeeded_s": flow_s,
    "throughput_ratio": round(flow_s["median"] / floor_s["median"], 3),
    # The median of each phase of the POST -> succeeded time (they need not sum to its median).
    "phases_s": {name: summary([p[name] for p in phases])["median"] for name in phases[0]},
    "worker_peak_rss_mb": round(max(peaks), 1),
}
archive.unlink()
print(json.dumps(result, indent=2))
