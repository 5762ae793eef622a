"""The stream's chunks: pages of posts that join into exactly the user's posts, in order.

On SQLite each chunk is one keyset page that SQLite concatenates itself (``group_concat``); on
PostgreSQL a batch of COPY rows read from libpq. Tiny pages here put page boundaries between posts
that share a timestamp, where a keyset walk could skip or repeat a post.
"""

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from blog.models import Post
from exports import streaming
from testkit.export_formats import POSTGRES_FORMATTED

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(streaming, "PAGE", 4)
    monkeypatch.setattr(streaming, "BATCH", 4)


def _posts_in_database(user):
    return [
        {"body": post.body, "timestamp": post.timestamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        for post in Post.objects.filter(author=user).order_by("timestamp", "id")
    ]


def _chunks(stream, most=100):
    """The stream's chunks; a keyset walk that loops fails here instead of hanging."""
    chunks = list(itertools.islice(stream, most))
    assert len(chunks) < most, "the stream does not end"
    return chunks


def _parse(joined):
    assert joined.endswith(b",\n")
    return [json.loads(line) for line in joined[:-2].split(b",\n")]


def _seed_ties(user, count=23):
    # Runs of up to five posts share a timestamp (whole seconds and fractions alike), so pages of
    # four end inside a run; created latest first, so ids run against time between runs.
    moments = [
        START + timedelta(seconds=n // 5, microseconds=(n // 5 % 2) * 7) for n in range(count)
    ]
    Post.objects.bulk_create(
        Post(author=user, body=f'post {n} "é\\🎉\n', timestamp=moment)
        for n, moment in sorted(enumerate(moments), key=lambda pair: -(pair[0] // 5))
    )


def test_pages_join_into_every_post_once_in_order(user, other_user, small_pages):
    _seed_ties(user)
    _seed_ties(other_user, 6)

    chunks = _chunks(streaming.post_json_lines(user.pk))

    assert [count for _, count in chunks] == [4, 4, 4, 4, 4, 3]
    for chunk, count in chunks:
        assert chunk.endswith(b",\n") and len(_parse(chunk)) == count
    assert _parse(b"".join(chunk for chunk, _ in chunks)) == _posts_in_database(user)


def test_a_page_ending_exactly_at_the_last_post(user, small_pages):
    _seed_ties(user, 8)

    chunks = _chunks(streaming.post_json_lines(user.pk))

    assert [count for _, count in chunks] == [4, 4]
    assert _parse(b"".join(chunk for chunk, _ in chunks)) == _posts_in_database(user)


def test_no_posts_no_chunks(user, small_pages):
    assert _chunks(streaming.post_json_lines(user.pk)) == []


def _single_statement(user):
    """The whole export as one statement through the driver's ordinary API: what the stream's
    pages (SQLite) or its raw libpq reads (PostgreSQL) must reproduce byte for byte."""
    table = connection.ops.quote_name(Post._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = POSTGRES_FORMATTED.format(table=table, author_id=int(user.pk))
            with cursor.copy(sql) as copy:
                return b"".join(bytes(row) for row in copy).replace(b"\n", b",\n")
        cursor.execute(streaming.SQLITE_SELECT.format(table=table).replace("?", "%s"), [user.pk])
        return "".join(row[0] + ",\n" for row in cursor.fetchall()).encode()


def test_the_stream_is_byte_for_byte_the_single_statement_export(user, small_pages):
    _seed_ties(user)

    streamed = b"".join(chunk for chunk, _ in _chunks(streaming.post_json_lines(user.pk)))

    assert streamed == _single_statement(user)


def test_posts_written_during_the_stream_do_not_shift_its_pages(user, small_pages):
    """Every page reads the snapshot of the first: the export is the posts of its start."""
    _seed_ties(user)
    expected = _posts_in_database(user)

    stream = streaming.post_json_lines(user.pk)
    first, _ = next(stream)
    Post.objects.create(author=user, body="before all", timestamp=START - timedelta(days=1))
    Post.objects.create(author=user, body="at a boundary", timestamp=START + timedelta(seconds=1))
    Post.objects.create(author=user, body="after all", timestamp=START + timedelta(days=1))
    rest = b"".join(chunk for chunk, _ in _chunks(stream))

    assert _parse(first + rest) == expected


# Fractions of every length: PostgreSQL's JSON drops trailing zeros, the export never does.
FRACTIONS = [0, 5, 10, 100, 1000, 10000, 100000, 120000, 123000, 123400, 123450, 123456, 999999]


@pytest.fixture
def server_time_zone_not_utc(django_db_blocker):
    """New connections to the test database start in a time zone other than UTC (as a server
    configured for its local time would): the stream must not depend on the server's."""
    if connection.vendor != "postgresql":
        yield
        return
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f"ALTER DATABASE {name} SET timezone TO 'America/Lima'")
    try:
        yield
    finally:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(f"ALTER DATABASE {name} RESET timezone")


def test_every_fraction_and_any_server_time_zone_give_the_same_bytes(
    user, small_pages, server_time_zone_not_utc
):
    moments = [START + timedelta(days=n, microseconds=micros) for n, micros in enumerate(FRACTIONS)]
    moments.append(datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC))
    Post.objects.bulk_create(
        Post(author=user, body=f'{n} "+00:00"}}\\n 🎉', timestamp=moment)
        for n, moment in enumerate(moments)
    )

    streamed = b"".join(chunk for chunk, _ in _chunks(streaming.post_json_lines(user.pk)))

    assert streamed == _single_statement(user)
    endings = {post["timestamp"][-9:] for post in _parse(streamed)}
    assert {"0.000005Z", "0.000010Z", "0.100000Z", "0.123456Z", "9.000000Z"} <= endings
