"""Reads used by the blog's views."""

from django.db import connection
from django.db.models.expressions import RawSQL

from microblog.keyset import Cursor, Direction, Key, queryset_fetch
from microblog.models import Follow, Post

POST_KEY = Key("timestamp", "pk")

# The timeline merges the newest posts of each author the reader follows (and the reader's
# own), each author's from the (author, timestamp, id) index: per author at most `limit` rows,
# so a page reads at most limit * authors rows, however many posts they wrote, and sorts only
# those. PostgreSQL runs one LATERAL index scan per author; SQLite has no LATERAL, so each
# author's newest ids come from a correlated subquery.
_AUTHORS = """
SELECT followed_id AS author_id FROM microblog_follow WHERE follower_id = %s
UNION ALL SELECT %s
"""
_TIMELINE = {
    "postgresql": """
SELECT newest.id FROM ({authors}) AS a CROSS JOIN LATERAL (
    SELECT id, timestamp FROM microblog_post
    WHERE author_id = a.author_id {after}
    ORDER BY timestamp {order}, id {order} LIMIT %s
) AS newest
ORDER BY newest.timestamp {order}, newest.id {order} LIMIT %s
""",
    "sqlite": """
SELECT p.id FROM ({authors}) AS a JOIN microblog_post AS p ON p.id IN (
    SELECT id FROM microblog_post
    WHERE author_id = a.author_id {after}
    ORDER BY timestamp {order}, id {order} LIMIT %s
)
ORDER BY p.timestamp {order}, p.id {order} LIMIT %s
""",
}


def timeline_sql(*, vendor: str, direction: Direction) -> str:
    after = {
        Direction.FIRST: "",
        Direction.OLDER: "AND (timestamp, id) < (%s, %s)",
        Direction.NEWER: "AND (timestamp, id) > (%s, %s)",
    }[direction]
    order = "ASC" if direction is Direction.NEWER else "DESC"
    return _TIMELINE[vendor].format(authors=_AUTHORS, after=after, order=order)


def timeline_params(*, user_id: int, cursor: Cursor | None, limit: int) -> list:
    bound = []
    if cursor is not None:
        bound = [connection.ops.adapt_datetimefield_value(cursor.moment), cursor.pk]
    return [user_id, user_id, *bound, limit, limit]


def timeline_fetch(user):
    """A keyset Fetch of the user's own posts and those of everyone they follow."""

    def fetch(direction: Direction, cursor: Cursor | None, limit: int):
        sql = timeline_sql(vendor=connection.vendor, direction=direction)
        params = timeline_params(user_id=user.pk, cursor=cursor, limit=limit)
        order = ("timestamp", "id") if direction is Direction.NEWER else ("-timestamp", "-id")
        return (
            Post.objects.select_related("author")
            .filter(pk__in=RawSQL(sql, params))  # noqa: S611 - parameters are bound
            .order_by(*order)
        )

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
