"""Where one daphne's CPU goes while wrk loads the timeline: a py-spy profile, grouped by part.

    python bench/page_profile.py {sqlite,postgres} [--seconds 20] [--connections 16]

A small seed (a reader following 20 authors of 100 posts each: the page's queries are index
ranges, so their Python side does not depend on the size). One daphne; wrk on /healthz, then on
the timeline while py-spy (requirements-dev.txt) samples daphne, only the thread that holds the
GIL: Python's own CPU, not the waits. Prints the request rates, daphne's CPU per timeline
request and, per part of the stack, the share of samples that passed through it (inclusive)
and the share whose innermost frame of a known part is in it (own), as a Markdown table.
"""

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import harness
from harness import cpu_seconds, machine, setup_django, start_redis

parser = argparse.ArgumentParser()
parser.add_argument("vendor", choices=["sqlite", "postgres"])
parser.add_argument("--seconds", type=int, default=20)
parser.add_argument("--connections", type=int, default=16)
parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
options = parser.parse_args()

harness.PG_NAME = os.environ.get("BENCH_PG_NAME", "microblog_page_profile")
harness.SQLITE_PATH = harness.BASE_DIR / "var" / "page_profile.sqlite3"
redis_server = start_redis()
setup_django(options.vendor)

from sessions import users_with_sessions  # noqa: E402

from blog.models import Follow, Post  # noqa: E402
from blog.seeding import seed_posts  # noqa: E402
from testkit.processes import start_daphne  # noqa: E402

# The parts, first match wins for a frame (file paths, as py-spy --full-filenames gives them).
PARTS = [
    ("daphne, Twisted (HTTP server)", r"/site-packages/(daphne|twisted|autobahn|txaio|zope)/"),
    ("ASGI glue (asgiref, Django's ASGI handler)", r"/(asgiref/|django/core/handlers/asgi)"),
    ("CSRF", r"/django/middleware/csrf"),
    ("sessions, auth (user look-up)", r"/django/(contrib/(sessions|auth)|core/signing)/"),
    ("task cards, unread count (context processors)", r"/(usertasks|private_messages)/context_"),
    ("SQL (ORM, driver)", r"/(django/db/|psycopg|sqlite3/)"),
    ("templates", r"/(django/template/|django/templatetags/|templatetags/)"),
    (
        "other middleware (metrics, request id, security, locale, messages, static)",
        r"/(django/middleware/|django/contrib/messages/|whitenoise/|prometheus_client/"
        r"|ops/(metrics/http|middleware)\.py)",
    ),
    ("URL resolving", r"/django/urls/"),
    ("logging", r"(/logging/|ops/logging\.py)"),
    (
        "the project's views, selectors, forms, page cache",
        r"^(?!.*/site-packages/).*/(blog|usertasks|accounts|private_messages|microblog|pagecache)/",
    ),
    ("Django, other", r"/django/"),
]
PATTERNS = [(name, re.compile(pattern)) for name, pattern in PARTS]
FRAME = re.compile(r" \((.*):\d+\)$")


def part_of(frame):
    match = FRAME.search(frame)
    path = match[1] if match else ""
    for name, pattern in PATTERNS:
        if pattern.search(path):
            return name
    return None


def grouped(raw):
    """Per part: (inclusive, own) sample counts, and the total."""
    inclusive, own, total = collections.Counter(), collections.Counter(), 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        count = int(count)
        total += count
        parts = [part_of(frame) for frame in stack.split(";")]  # outermost first
        for name in set(parts) - {None}:
            inclusive[name] += count
        innermost = next((name for name in reversed(parts) if name), "other (stdlib, threads)")
        own[innermost] += count
    return inclusive, own, total


def wrk(url, *extra):
    return harness.wrk(url, *extra, connections=options.connections, seconds=options.seconds)


out = Path(tempfile.mkdtemp(prefix="bench-profile-"))
(reader,), (session,) = users_with_sessions("profile_reader", 1)
authors, _ = users_with_sessions("profile_author", 20)
Follow.objects.bulk_create(
    [Follow(follower=reader, followed=author) for author in authors], ignore_conflicts=True
)
for author in authors:
    if not Post.objects.filter(author=author).exists():
        seed_posts(author=author, count=100, seed=author.pk)

web = start_daphne(out / "daphne.log")
try:
    cookie = f"Cookie: sessionid={session}"
    wrk(web.url + "/", "-H", cookie)  # warm up: imports, templates, connections
    healthz_rps = wrk(web.url + "/healthz")["rps"]
    raw = out / "profile.txt"
    spy = threading.Thread(
        target=subprocess.run,
        args=(
            [
                os.environ.get("PY_SPY", str(Path(sys.executable).parent / "py-spy")),
                "record",
                "--pid",
                str(web.pid),
                "--duration",
                str(options.seconds),
                "--rate",
                str(options.rate),
                "--gil",
                "--nonblocking",
                "--full-filenames",
                "--format",
                "raw",
                "--output",
                str(raw),
            ],
        ),
        kwargs={"check": True, "capture_output": True},
    )
    cpu_before = cpu_seconds(web.pid)
    spy.start()
    timeline = wrk(web.url + "/", "-H", cookie)
    cpu = cpu_seconds(web.pid) - cpu_before
    spy.join()
finally:
    web.stop()
    redis_server.stop()

timeline_rps, requests = timeline["rps"], timeline["requests"]
inclusive, own, total = grouped(raw.read_text())
print(f"raw samples: {raw}")
print(f"{machine()}, {options.vendor}, {options.connections} connections, {options.seconds} s\n")
print(
    f"timeline {timeline_rps:.1f} req/s, /healthz {healthz_rps:.1f} req/s: "
    f"ratio {timeline_rps / healthz_rps:.3f}; daphne CPU {1000 * cpu / requests:.1f} ms "
    f"per timeline request (profiled); {total} samples holding the GIL\n"
)
print("| part | inclusive | own |")
print("|---|---|---|")
names = [name for name, _ in PARTS] + ["other (stdlib, threads)"]
for name in sorted(names, key=lambda n: -inclusive[n] or -own[n]):
    if inclusive[name] or own[name]:
        share = (lambda n: f"{100 * n / total:.1f} %") if total else str
        print(f"| {name} | {share(inclusive[name])} | {share(own[name])} |")
