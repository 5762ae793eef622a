"""The query plans of the timeline, explore and profile pages (blog/selectors.py): each
page reads its rows from an index, a bounded number of them, and sorts none but those.

On PostgreSQL (DATABASE_URL) from EXPLAIN ANALYZE: no sequential scan of the posts, and the
rows read from them (and sorted) stay within a page's bound. On SQLite from EXPLAIN QUERY
PLAN and the number of virtual machine steps, which must not grow with the posts. The tables
are seeded and ANALYZEd first, so the planner has the statistics that would otherwise make it
choose a scan.
"""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from blog.models import Follow
from blog.seeding import write_posts
from blog.selectors import (
    explore_fetch,
    profile_fetch,
    timeline_fetch,
    timeline_query,
    without_jit,
)
from keyset import Cursor, Direction
from testkit.factories import UserFactory

pytestmark = pytest.mark.django_db

LIMIT = 21  # a page of 20 and one to know whether an older page exists
# Each database's own plan: a run on the other skips it, and says so (bench/report.py reads it).
postgres = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="needs PostgreSQL: its query plan"
)
sqlite = pytest.mark.skipif("connection.vendor != 'sqlite'", reason="needs SQLite: its query plan")


def seed(authors, per_author, *, start=None):
    """`per_author` posts by each author, one a minute, the authors' posts interleaved."""
    start = start or timezone.now() - timedelta(days=365)
    write_posts(
        (author.pk, "x", start + timedelta(minutes=n))
        for n in range(per_author)
        for author in authors
    )


def analyze():
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def middle_cursor(fetch):
    """A cursor some pages deep: the start of an older page."""
    rows = list(fetch(Direction.FIRST, None, 200))
    return Cursor(rows[-1].timestamp, rows[-1].pk)


@pytest.fixture
def reader():
    return UserFactory()


def many_users(count, prefix="author"):
    """Users without passwords, in one INSERT: hashing a thousand would take most of a test."""
    model = get_user_model()
    model.objects.bulk_create(model(username=f"{prefix}{n}") for n in range(count))
    return list(model.objects.filter(username__startswith=prefix))


def follow(reader, count):
    authors = many_users(count)
    Follow.objects.bulk_create(Follow(follower=reader, followed=author) for author in authors)
    return authors


# PostgreSQL: EXPLAIN (ANALYZE, FORMAT JSON)


def plan_nodes(query):
    """The nodes of a queryset's or an (sql, params) query's plan, which PostgreSQL ran without
    compiling it (JIT): compiling costs a page more than running it."""
    (plan,) = json_plan(query)
    assert "JIT" not in plan, plan["JIT"]
    stack = [plan["Plan"]]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.get("Plans", []))


def json_plan(query):
    if isinstance(query, tuple):
        sql, params = query
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            (plan,) = cursor.fetchone()
        return json.loads(plan) if isinstance(plan, str) else plan
    return json.loads(query.explain(format="json", analyze=True))


def rows_read_from_posts(nodes):
    return sum(
        node["Actual Rows"] * node["Actual Loops"]
        for node in nodes
        if node.get("Relation Name") == "microblog_post"
    )


def assert_bounded(query, *, bound):
    nodes = list(plan_nodes(query))
    scans = {n["Node Type"] for n in nodes if n.get("Relation Name") == "microblog_post"}
    assert "Seq Scan" not in scans, scans
    assert rows_read_from_posts(nodes) <= bound
    for node in nodes:
        if node["Node Type"] in {"Sort", "Incremental Sort"}:
            (child,) = node["Plans"]
            assert child["Actual Rows"] * child["Actual Loops"] <= bound, node


@postgres
@pytest.mark.parametrize("authors", [20, 1000])
def test_postgres_timeline_reads_at_most_a_page_per_followed_author(reader, authors):
    per_author = 40 if authors > 20 else 2000  # 40,000 posts, about twice a page's bound
    followed = follow(reader, authors)
    seed(followed, per_author)
    # Strangers' posts, newer than all the others: a walk of everyone's posts in time order
    # would read all of them before reaching the reader's first.
    seed(many_users(20, "stranger"), 2000, start=timezone.now() - timedelta(days=7))
    analyze()
    fetch = timeline_fetch(reader)
    bound = LIMIT * (authors + 1) + LIMIT  # per author, then the page's own rows

    cursor = middle_cursor(fetch)
    for direction, at in (
        (Direction.FIRST, None),
        (Direction.OLDER, cursor),
        (Direction.NEWER, cursor),
    ):
        with without_jit():  # as timeline_fetch runs it
            assert_bounded(timeline_query(reader, direction, at, LIMIT), bound=bound)


@postgres
def test_postgres_explore_and_profile_read_one_page_from_the_index(reader):
    authors = many_users(20, "stranger")
    seed(authors, 2000)
    analyze()

    for fetch in (explore_fetch(), profile_fetch(authors[3])):
        for direction in Direction:
            cursor = None if direction is Direction.FIRST else middle_cursor(fetch)
            queryset = fetch(direction, cursor, LIMIT)
            nodes = list(plan_nodes(queryset))
            assert not [n for n in nodes if "Sort" in n["Node Type"]], (direction, nodes)
            assert_bounded(queryset, bound=LIMIT)


# SQLite: EXPLAIN QUERY PLAN, and the virtual machine's steps


def sqlite_plan(query):
    """EXPLAIN QUERY PLAN's lines, of a queryset or an (sql, params) query, as (id, parent id,
    detail)."""
    if isinstance(query, tuple):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + query[0], query[1])
            return [(i, parent, detail) for i, parent, _, detail in cursor.fetchall()]
    lines = query.explain().splitlines()
    return [
        (int(i), int(parent), detail)
        for i, parent, _, detail in (line.split(" ", 3) for line in lines)
    ]


def assert_no_full_scan(plan):
    for _, _, detail in plan:
        assert not FULL_SCAN.search(detail), plan


def sorts_under(plan, parent):
    return [detail for _, above, detail in plan if above == parent and "TEMP B-TREE" in detail]


def vm_steps(run):
    """How many virtual machine instructions SQLite runs for `run()`'s queries, in thousands."""
    steps = 0

    def count():
        nonlocal steps
        steps += 1
        return 0

    connection.ensure_connection()
    raw = connection.connection
    raw.set_progress_handler(count, 1000)
    try:
        run()
    finally:
        raw.set_progress_handler(None, 1000)
    return steps


FULL_SCAN = re.compile(r"SCAN (microblog_post|p)\b(?! USING (COVERING )?INDEX)")


@sqlite
@pytest.mark.parametrize(("authors", "per_author", "more"), [(20, 100, 400), (1000, 25, 25)])
def test_sqlite_timeline_walks_each_authors_index_and_costs_the_same_with_more_posts(
    reader, authors, per_author, more
):
    followed = follow(reader, authors)
    seed(followed, per_author)
    analyze()
    fetch = timeline_fetch(reader)
    cursor = middle_cursor(fetch)
    plan = sqlite_plan(timeline_query(reader, Direction.OLDER, cursor, LIMIT))
    assert_no_full_scan(plan)
    # Each author's newest posts come from the index, already in order: no sort there.
    per_author = [i for i, _, detail in plan if detail.startswith("CORRELATED")]
    assert per_author, plan
    for query in per_author:
        (walk,) = [d for _, parent, d in plan if parent == query and d.startswith("SEARCH")]
        assert "USING COVERING INDEX post_author_time (author_id=? AND timestamp" in walk, plan
        assert not sorts_under(plan, query), plan
    pages = [(Direction.FIRST, None), (Direction.OLDER, cursor), (Direction.NEWER, cursor)]
    before = [vm_steps(lambda d=direction, c=at: fetch(d, c, LIMIT)) for direction, at in pages]

    seed(followed, more, start=timezone.now() - timedelta(days=730))  # older than all others
    analyze()

    after = [vm_steps(lambda d=direction, c=at: fetch(d, c, LIMIT)) for direction, at in pages]
    assert all(a <= b * 1.2 + 2 for a, b in zip(after, before, strict=True)), (before, after)


@sqlite
def test_sqlite_explore_and_profile_read_one_page_from_the_index():
    authors = many_users(20, "stranger")
    seed(authors, 500)
    analyze()

    for fetch, index in (
        (explore_fetch(), "post_time"),
        (profile_fetch(authors[3]), "post_author_time"),
    ):
        for direction in Direction:
            cursor = None if direction is Direction.FIRST else middle_cursor(fetch)
            plan = sqlite_plan(fetch(direction, cursor, LIMIT))
            assert f"INDEX {index}" in plan[0][2] + plan[1][2], plan
            assert not [d for _, _, d in plan if "TEMP B-TREE" in d], plan
            assert_no_full_scan(plan)
