"""Shared set-up for the benchmarks: a private database per vendor, Redis, real processes.

Each benchmark runs against a database of its own (never the development or test one):
SQLite ``var/bench.sqlite3`` or PostgreSQL ``microblog_bench`` on the local server.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

PG_SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
# A private database on the local server; BENCH_PG_NAME picks another (a shared machine).
PG_NAME = os.environ.get("BENCH_PG_NAME", "microblog_bench")
SQLITE_PATH = BASE_DIR / "var" / "bench.sqlite3"


def database_url(vendor):
    if vendor == "postgres":
        return f"{PG_SERVER}/{PG_NAME}"
    return f"sqlite:///{SQLITE_PATH}"


def ensure_postgres_database():
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [PG_NAME]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{PG_NAME}"')


def setup_django(vendor, **env):
    """Point this process at the vendor's bench database and Redis, set Django up, migrate."""
    if vendor == "postgres":
        ensure_postgres_database()
    os.environ["DATABASE_URL"] = database_url(vendor)
    os.environ.setdefault("SECRET_KEY", "bench-only-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "microblog.settings")
    os.environ["SESSION_COOKIE_SECURE"] = "false"
    os.environ["CSRF_COOKIE_SECURE"] = "false"
    os.environ["STATIC_MANIFEST"] = "false"
    os.environ.update({key: str(value) for key, value in env.items()})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def start_redis():
    """A private embedded Redis for the run; REDIS_URL is set for this process and children."""
    from devtools.embedded_redis import EmbeddedRedis

    server = EmbeddedRedis().start()
    os.environ["REDIS_URL"] = server.url
    return server


def user_with_posts(username, count):
    """A user with exactly ``count`` posts (seeded once, reused by later runs)."""
    from django.contrib.auth import get_user_model

    from blog.models import Post
    from blog.seeding import seed_posts

    user, _ = get_user_model().objects.get_or_create(
        username=username, defaults={"email": f"{username}@example.com"}
    )
    have = Post.objects.filter(author=user).count()
    if have != count:
        Post.objects.filter(author=user).delete()
        seed_posts(author=user, count=count, seed=count)
        _analyze()
    return user


def _analyze():
    """Statistics and visibility maps as a steady-state database has them after autovacuum, and
    no checkpoint still to come for the seed's pages while pages are timed: on SQLite the
    seed's write-ahead log (gigabytes after millions of posts, which every new connection and
    every page read looked through) is copied into the database and emptied."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
            cursor.execute("CHECKPOINT")
        else:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def wrk(url, *extra, connections, seconds):
    """``wrk -t2`` against ``url``: requests a second, the 99th-percentile latency, the answers
    that were not 2xx or 3xx, and how many requests it made."""
    report = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *extra, url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", report)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", report)[1]),
        "p99_ms": round(float(p99[1]) * {"us": 0.001, "ms": 1, "s": 1000}[p99[2]], 2),
        "errors": int(non2xx[1]) if non2xx else 0,
        "requests": int(re.search(r"(\d+) requests in", report)[1]),
    }


def timed(args, **kwargs):
    started = time.perf_counter()
    subprocess.run(args, check=True, **kwargs)
    return time.perf_counter() - started


def summary(values):
    values = sorted(values)
    return {"min": values[0], "median": statistics.median(values), "max": values[-1]}


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, round(fraction * (len(values) - 1)))]


def cpu_seconds(pid, reaped_children=False):
    """A process's user + system CPU from /proc; with ``reaped_children``, also that of the
    children it has waited for (a postmaster's ended backends, say)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    last = 15 if reaped_children else 13  # utime, stime[, cutime, cstime]
    return sum(int(value) for value in fields[11:last]) / os.sysconf("SC_CLK_TCK")


def machine():
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}"


RESULTS_DIR = BASE_DIR / "bench" / "results"
# Keys a script may print that the result file carries at its top level (or drops).
_OWN_KEYS = {"benchmark", "vendor", "machine", "git_sha", "recorded_at", "command"}
# The unit of a figure, from the first of its path's names (innermost first) that says one.
_UNITS = [
    (
        re.compile(r"^(messages|deliveries|states|finals|clients|connections|posts|errors)$"),
        "count",
    ),
    (re.compile(r"^p\d+$"), "ms"),  # a bare percentile here is always a latency's
    (re.compile(r"per_minute$"), "/min"),
    (re.compile(r"per_second$"), "/s"),
    (re.compile(r"ratio|speedup"), "×"),
    (re.compile(r"(^|_)(s|seconds)$"), "s"),  # post_to_succeeded_s: a time, not a ratio
    (re.compile(r"_to_"), "×"),
    (re.compile(r"(^|_)rps$"), "req/s"),
    (re.compile(r"overhead$"), "fraction"),
    (re.compile(r"(^|_)ms(_|$)"), "ms"),
    (re.compile(r"(^|_)(s|seconds)(_|$)"), "s"),
    (re.compile(r"(^|_)mb(_|$)"), "MB"),
    (re.compile(r"(^|_)mib(_|$)"), "MiB"),
    (re.compile(r"(^|_)kib(_|$)"), "KiB"),
]


def _unit(path):
    for name in reversed(path):
        for pattern, unit in _UNITS:
            if pattern.search(str(name).lower()):
                return unit
    return "count"


def metrics_from(figures):
    """Split what a script printed into the result's ``metrics`` and ``context``.

    Every number becomes a metric named by its dotted path (``websockets.latency_ms.p99``),
    with the unit its names give; anything else (labels, flags, lists) goes to ``context``
    under the same path. The keys the result file carries itself (vendor, machine...) are left
    out but for ``command``, which goes to ``context``.
    """
    metrics, context = {}, {}

    def walk(value, path):
        if isinstance(value, dict) and value:
            for key, item in value.items():
                walk(item, [*path, key])
        elif isinstance(value, int | float) and not isinstance(value, bool):
            metrics[".".join(path)] = {"value": value, "unit": _unit(path)}
        else:
            context[".".join(path)] = value

    for key, value in figures.items():
        if key == "command":
            context["command"] = value
        elif key not in _OWN_KEYS:
            walk(value, [key])
    return metrics, context


def git_sha():
    """HEAD's commit, suffixed ``-dirty`` if the tree (results aside) has changes."""

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=BASE_DIR, capture_output=True, text=True, check=True
        ).stdout.strip()

    sha = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--", ".", ":!bench/results")
    return sha + ("-dirty" if dirty else "")


def record(benchmark, vendor, metrics, context=None, *, machine_name=None, sha=None, at=None):
    """Write ``bench/results/<benchmark>-<vendor>.json`` in the one schema bench/report.py reads.

    ``metrics``: ``{name: {"value": number, "unit": str, "bound"?: ..., "samples"?: int,
    "details"?: ...}}``; ``context``: anything else about the run (its ``command``). The
    machine, commit and time are this run's unless given (files written before they were kept).
    """
    result = {
        "benchmark": benchmark,
        "vendor": vendor,
        "machine": machine_name or machine(),
        "git_sha": sha or git_sha(),
        "recorded_at": at or datetime.now(UTC).isoformat(timespec="seconds"),
        "metrics": metrics,
    }
    if context:
        result["context"] = context
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{benchmark}-{vendor}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return path
