"""Property: for any post text, the export file holds exactly the posts in the database.

The database itself writes the JSON (PostgreSQL json_build_object through COPY, SQLite
json_object), so this runs on both back ends with text a person would never type.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blog.models import POST_MAX_LENGTH, Post
from exports.jobs import export_posts
from testkit.factories import TaskFactory
from usertasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)

EDGE_CASES = [
    '"',
    '\\"',
    "\\",
    "\\\\n",
    "\\u0000",
    '{"body": "x"}',
    "\x01\x02\x03",  # COPY's quote and delimiter bytes
    "\t\n\r\x0b\x0c\x7f\x1b[31m",
    "line\u2028separator\u2029paragraph",
    "🎉👩‍👩‍👧‍👦🏳️‍🌈",
    "שלום مرحبا \u202eevil\u202c",
    "\ufeff\ufffe\uffff",
    "</script><!--",
    ",\n]}",
    "x" * POST_MAX_LENGTH,
    "🎉" * POST_MAX_LENGTH,
]

bodies = st.one_of(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        min_size=1,
        max_size=POST_MAX_LENGTH,
    ),
    st.sampled_from(EDGE_CASES),
)
# Gaps between consecutive posts: sub-millisecond, whole seconds (no fractional part) and days.
gaps = st.one_of(
    st.integers(min_value=1, max_value=999),
    st.integers(min_value=1, max_value=86_400).map(lambda s: s * 1_000_000),
    st.integers(min_value=1, max_value=10**12),
)
starts = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)


def _exported_posts(task):
    with task.result.open("rb") as handle:
        return json.loads(handle.read().decode("utf-8"))["posts"]


def _posts_in_database(user):
    return [
        {"body": post.body, "timestamp": post.timestamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        for post in Post.objects.filter(author=user).order_by("timestamp", "id")
    ]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    texts=st.lists(bodies, min_size=1, max_size=30),
    start=starts,
    steps=st.lists(gaps, min_size=30, max_size=30),
)
def test_export_holds_exactly_the_posts_in_the_database_for_any_text(
    user, redis_client, texts, start, steps
):
    moments = []
    moment = start
    for step in steps[: len(texts)]:
        moment += timedelta(microseconds=step)
        moments.append(moment)
    Post.objects.bulk_create(
        Post(author=user, body=body, timestamp=at) for body, at in zip(texts, moments, strict=True)
    )
    task = TaskFactory(user=user)
    try:
        export_posts(task.pk)
        task.refresh_from_db()

        assert task.status == Task.Status.SUCCEEDED, (connection.vendor, task.error)
        expected = _posts_in_database(user)
        assert [post["body"] for post in expected] == texts
        assert _exported_posts(task) == expected
    finally:
        if task.result:
            task.result.delete(save=False)
        Task.objects.filter(user=user).delete()
        Post.objects.filter(author=user).delete()
