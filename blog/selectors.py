"""Reads used by the blog's views."""

from contextlib import contextmanager
from datetime import UTC, datetime

from django.db import connection, transaction

from blog.models import Follow, Post
from keyset import Cursor, Direction, Key, queryset_fetch

POST_KEY = Key("timestamp", "pk")

# The timeline merges the newest posts of each author the reader follows (and the reader's
# own), each author's from the (author, timestamp, id) index, in two steps that each touch a
# bounded number of rows however many posts the authors wrote:
# 1. `edge`: each author's newest post's time (one index probe each); a page's `limit` posts
#    are all at or after the `limit`-th newest of these times (those `limit` posts are).
# 2. per author the newest posts from that edge on, at most `limit`: for most authors of a
#    long follow list, none. Then the page is sorted from those rows alone.
# PostgreSQL runs each step as a LATERAL index scan per author; SQLite has no LATERAL, so each
# author's rows come from correlated subqueries, and step 2 probes only the authors whose
# newest post is at or after the edge: SQLite runs each probe, even one that finds nothing
# (1,000 authors with spread newest posts: 47,000 virtual machine steps instead of 57,000).
# (Pages going newer mirror all this.)
_AUTHORS = """
SELECT followed_id AS author_id FROM microblog_follow WHERE follower_id = %s
UNION ALL SELECT %s
"""
_TIMELINE = {
    "postgresql": """
WITH a AS ({authors}), edge AS (
    SELECT COALESCE((
        SELECT newest.timestamp FROM a CROSS JOIN LATERAL (
            SELECT timestamp FROM microblog_post WHERE author_id = a.author_id {after}
            ORDER BY timestamp {order}, id {order} LIMIT 1
        ) AS newest
        ORDER BY newest.timestamp {order} LIMIT 1 OFFSET %s
    ), %s) AS timestamp
)
SELECT newest.id FROM a CROSS JOIN edge CROSS JOIN LATERAL (
    SELECT id, timestamp FROM microblog_post
    WHERE author_id = a.author_id {after} AND timestamp {within} edge.timestamp
    ORDER BY timestamp {order}, id {order} LIMIT %s
) AS newest
ORDER BY newest.timestamp {order}, newest.id {order} LIMIT %s
""",
    "sqlite": """
WITH a AS ({authors}), heads AS MATERIALIZED (
    SELECT a.author_id, (
        SELECT timestamp FROM microblog_post WHERE author_id = a.author_id {after}
        ORDER BY timestamp {order}, id {order} LIMIT 1
    ) AS timestamp FROM a
), edge AS (
    SELECT COALESCE((
        SELECT timestamp FROM heads WHERE timestamp IS NOT NULL
        ORDER BY timestamp {order} LIMIT 1 OFFSET %s
    ), %s) AS timestamp
)
SELECT p.id FROM heads CROSS JOIN edge JOIN microblog_post AS p ON p.id IN (
    SELECT id FROM microblog_post
    WHERE author_id = heads.author_id {after} AND timestamp {within} edge.timestamp
    ORDER BY timestamp {order}, id {order} LIMIT %s
)
WHERE heads.timestamp {within} edge.timestamp
ORDER BY p.timestamp {order}, p.id {order} LIMIT %s
""",
}
# Where the edge is open when fewer authors than a page have posts: before or after all time.
_NO_EDGE = {False: datetime(1, 1, 1, tzinfo=UTC), True: datetime(9999, 12, 31, tzinfo=UTC)}


def timeline_sql(*, vendor: str, direction: Direction) -> str:
    after = {
        Direction.FIRST: "",
        Direction.OLDER: "AND (timestamp, id) < (%s, %s)",
        Direction.NEWER: "AND (timestamp, id) > (%s, %s)",
    }[direction]
    newer = direction is Direction.NEWER
    return _TIMELINE[vendor].format(
        authors=_AUTHORS,
        after=after,
        order="ASC" if newer else "DESC",
        within="<=" if newer else ">=",
    )


def timeline_params(
    *, user_id: int, direction: Direction, cursor: Cursor | None, limit: int
) -> list:
    adapt = connection.ops.adapt_datetimefield_value
    bound = [] if cursor is None else [adapt(cursor.moment), cursor.pk]
    no_edge = adapt(_NO_EDGE[direction is Direction.NEWER])
    return [user_id, user_id, *bound, limit - 1, no_edge, *bound, limit, limit]


def timeline_query(user, direction: Direction, cursor: Cursor | None, limit: int):
    """The timeline's ids query for one page: (sql, params)."""
    sql = timeline_sql(vendor=connection.vendor, direction=direction)
    return sql, timeline_params(user_id=user.pk, direction=direction, cursor=cursor, limit=limit)


@contextmanager
def without_jit():
    """PostgreSQL's estimate of the timeline counts every author's probes at full cost, so a long
    follow list passes jit_above_cost, and compiling the plan takes longer (hundreds of ms) than
    running it (a few)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as db:
        db.execute("SET LOCAL jit = off")
        yield


def timeline_fetch(user):
    """A keyset Fetch of the user's own posts and those of everyone they follow."""

    def fetch(direction: Direction, cursor: Cursor | None, limit: int):
        # The ids first, then their posts: inside an IN (subquery) PostgreSQL may walk every
        # post in time order to avoid sorting the page's 21 rows.
        with without_jit(), connection.cursor() as db:
            db.execute(*timeline_query(user, direction, cursor, limit))
            ids = [pk for (pk,) in db.fetchall()]
        order = ("timestamp", "id") if direction is Direction.NEWER else ("-timestamp", "-id")
        return list(Post.objects.select_related("author").filter(pk__in=ids).order_by(*order))

    return fetch


def explore_fetch():
    return queryset_fetch(Post.objects.select_related("author"), POST_KEY)


def profile_fetch(author):
    return queryset_fetch(Post.objects.select_related("author").filter(author=author), POST_KEY)


def follow_counts(user):
    return {
        "followers": Follow.objects.filter(followed=user).count(),
        "following": Follow.objects.filter(follower=user).count(),
    }


def is_following(follower, followed):
    if not follower.is_authenticated:
        return False
    return Follow.objects.filter(follower=follower, followed=followed).exists()
