"""Pages at scale: the timeline, explore and profile cost the same with 10 thousand posts as
with millions.

    python bench/page_scale.py {sqlite,postgres} [--posts 5000000] [--per-author 100000]

Seeds 20 authors that one reader follows and 1,000 authors that a second reader follows, first
10,000 posts in all, then `--posts` (20 x `--per-author`, the rest spread over the 1,000). At
each size, against one daphne: the median of single requests (one keep-alive connection, one
request at a time) of each page, the timeline 50 "Older posts" links deep, and wrk's requests
per second on the timeline and on /healthz in the same run. Every figure is also a ratio: large
size to small (also against /healthz's single-request median at each size), 1,000 authors to
20, page 50 to page 1, timeline to /healthz (the median of three alternated rounds).

The medians come from a daphne that renders every page (PAGE_CACHE_SECONDS=0): they measure the
queries and templates. wrk runs twice: on that daphne (``rendering_*``), and on one as deployed,
whose timeline's first page is kept rendered while nothing on it changes (pagecache/).
"""

import argparse
import http.client
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import harness
from harness import machine, setup_django, start_redis

parser = argparse.ArgumentParser()
parser.add_argument("vendor", choices=["sqlite", "postgres"])
parser.add_argument("--posts", type=int, default=5_000_000)
parser.add_argument("--per-author", type=int, default=100_000)
parser.add_argument("--requests", type=int, default=40)
parser.add_argument("--seconds", type=int, default=10)
parser.add_argument("--connections", type=int, default=16)
parser.add_argument("--rounds", type=int, default=3, help="wrk rounds: /healthz, then the timeline")
options = parser.parse_args()
SMALL = 10_000
FOLLOWED, MANY = 20, 1000
assert options.posts >= FOLLOWED * options.per_author + MANY, "too few posts for the authors"

# A database of its own, emptied first: the sizes must be exactly what the figures say.
harness.PG_NAME = os.environ.get("BENCH_PG_NAME", "microblog_page_scale")
harness.SQLITE_PATH = harness.BASE_DIR / "var" / "page_scale.sqlite3"
if options.vendor == "sqlite":
    for suffix in ("", "-wal", "-shm"):
        Path(f"{harness.SQLITE_PATH}{suffix}").unlink(missing_ok=True)
else:
    import psycopg

    with psycopg.connect(f"{harness.PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{harness.PG_NAME}" WITH (FORCE)')

redis_server = start_redis()
setup_django(options.vendor)

from django.db import transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from sessions import users_with_sessions  # noqa: E402

from blog.models import Follow, Post  # noqa: E402
from blog.seeding import seed_posts  # noqa: E402
from testkit.processes import start_daphne  # noqa: E402

out = Path(tempfile.mkdtemp(prefix="bench-pages-"))
(reader, wide_reader), sessions = users_with_sessions("page_reader", 2)
followed, _ = users_with_sessions("page_followed", FOLLOWED)
many, _ = users_with_sessions("page_many", MANY)
Follow.objects.bulk_create([Follow(follower=reader, followed=a) for a in followed])
Follow.objects.bulk_create([Follow(follower=wide_reader, followed=a) for a in many])


def seed_to(total, per_author):
    """Top every author up so that the 20 have `per_author` posts each and the 1,000 the rest."""
    started = time.perf_counter()
    rest = (total - FOLLOWED * per_author) // MANY
    have = dict(Post.objects.values_list("author").annotate(Count("id")).order_by())
    with transaction.atomic():  # one commit, not one per author
        for authors, each in ((followed, per_author), (many, rest)):
            for author in authors:
                if each > have.get(author.pk, 0):
                    seed_posts(author=author, count=each - have.get(author.pk, 0), seed=author.pk)
    harness._analyze()
    return {"posts": Post.objects.count(), "seed_s": round(time.perf_counter() - started, 1)}


OLDER = re.compile(rb'href="(\?older=[^"]+)"')


def get(connection, path, session):
    connection.request("GET", path, headers={"Cookie": f"sessionid={session}"})
    response = connection.getresponse()
    body = response.read()
    assert response.status == 200, (path, response.status)
    return body


def medians_ms(port, pages):
    """Each page's median time, in rounds that ask for every page once: a burst of load from
    elsewhere on the machine falls on all pages alike, not on the one measured then."""
    connections = {name: http.client.HTTPConnection("127.0.0.1", port) for name in pages}
    times = {name: [] for name in pages}
    for round_ in range(3 + options.requests):
        for name, (path, session) in pages.items():
            started = time.perf_counter()
            get(connections[name], path, session)
            if round_ >= 3:  # the first rounds warm up
                times[name].append((time.perf_counter() - started) * 1000)
    for connection in connections.values():
        connection.close()
    return {f"{name}_ms": round(statistics.median(times[name]), 2) for name in pages}


def deep_path(port, session, pages=50):
    """The path of the timeline's page `pages`, reached through its "Older posts" links."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    path = "/"
    for _ in range(pages - 1):
        path = "/" + OLDER.search(get(connection, path, session))[1].decode().replace("&amp;", "&")
    connection.close()
    return path


def wrk(url, *extra):
    figures = harness.wrk(url, *extra, connections=options.connections, seconds=options.seconds)
    return {"rps": figures["rps"], "errors": figures["errors"]}


def against_healthz(web):
    """wrk on /healthz and on the timeline, alternated for `--rounds`: a burst of load from
    elsewhere on the machine falls on both. Each page's median requests per second, its errors,
    and the median of the rounds' ratios."""
    runs = {"healthz": [], "timeline": []}
    for _ in range(options.rounds):
        runs["healthz"].append(wrk(web.url + "/healthz"))
        runs["timeline"].append(wrk(web.url + "/", "-H", f"Cookie: sessionid={sessions[0]}"))
    ratios = [t["rps"] / h["rps"] for h, t in zip(runs["healthz"], runs["timeline"], strict=True)]
    pages = {
        name: {
            "rps": statistics.median(run["rps"] for run in page_runs),
            "errors": sum(run["errors"] for run in page_runs),
        }
        for name, page_runs in runs.items()
    }
    return pages, round(statistics.median(ratios), 3)


def measure():
    # Rendered on every request (PAGE_CACHE_SECONDS=0): the medians are what each page's
    # queries and templates cost at this size, not what the page cache serves.
    web = start_daphne(out / "daphne-rendering.log", PAGE_CACHE_SECONDS=0)
    try:
        session, wide = sessions
        profile = f"/user/{followed[0].username}/"
        figures = medians_ms(
            web.port,
            {
                "timeline": ("/", session),
                "timeline_1000_authors": ("/", wide),
                "explore": ("/explore/", session),
                "profile": (profile, session),
                "timeline_page_50": (deep_path(web.port, session), session),
                # The baseline: the same work at both sizes, in the same rounds.
                "healthz": ("/healthz", session),
            },
        )
        rendering, rendering_ratio = against_healthz(web)
    finally:
        web.stop()
    # As served: the timeline's first page kept rendered while nothing on it changes.
    web = start_daphne(out / "daphne.log")
    try:
        served, ratio = against_healthz(web)
    finally:
        web.stop()
    figures.update(
        healthz_wrk=served["healthz"],
        timeline_wrk=served["timeline"],
        timeline_to_healthz_rps=ratio,
        rendering_healthz_wrk=rendering["healthz"],
        rendering_timeline_wrk=rendering["timeline"],
        rendering_timeline_to_healthz_rps=rendering_ratio,
        timeline_1000_to_20_authors=round(
            figures["timeline_1000_authors_ms"] / figures["timeline_ms"], 3
        ),
        page_50_to_page_1=round(figures["timeline_page_50_ms"] / figures["timeline_ms"], 3),
    )
    return figures


try:
    small_seed = seed_to(SMALL, (SMALL // 2) // FOLLOWED)
    small = {**small_seed, **measure()}
    large_seed = seed_to(options.posts, options.per_author)
    large = {**large_seed, **measure()}
finally:
    redis_server.stop()

PAGES = ("timeline", "timeline_1000_authors", "explore", "profile", "timeline_page_50")
print(
    json.dumps(
        {
            "machine": machine(),
            "vendor": options.vendor,
            "small": small,
            "large": large,
            "large_to_small": {
                page: round(large[f"{page}_ms"] / small[f"{page}_ms"], 3) for page in PAGES
            },
            # The same, each size's median first divided by /healthz's in the same rounds: the
            # machine's own speed, which moved by up to 2 x between the sizes, falls out.
            "large_to_small_vs_healthz": {
                page: round(
                    (large[f"{page}_ms"] / large["healthz_ms"])
                    / (small[f"{page}_ms"] / small["healthz_ms"]),
                    3,
                )
                for page in PAGES
            },
        },
        indent=2,
    )
)
