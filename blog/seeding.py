"""Bulk creation of posts for demos and benchmarks (``manage.py seed_posts``).

Builds rows as plain tuples and writes them with the database's fastest bulk path (COPY on
PostgreSQL, one executemany per batch elsewhere): a million posts take seconds, not minutes.
"""

import random
from bisect import bisect_left
from datetime import timedelta
from itertools import accumulate, islice

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from blog.models import POST_MAX_LENGTH, Post
from blog.timeline_page import users_changed

# Mixed scripts and JSON-hostile characters, so exports are exercised on realistic text.
WORDS = (
    "hello world microblog django channels redis queue worker export progress "
    "café naïve résumé straße smörgåsbord jalapeño "
    "Привет мир данные "
    "Γειά σου κόσμε "
    "こんにちは 世界 東京 "
    "مرحبا بالعالم "
    "שלום "
    "🎉 🚀 ✨ 🐍 "
    '"quoted" back\\slash tab\there new\nline <b>html</b> & 100%'
).split(" ")
BATCH = 10_000
SEQUENCE = 1 << 16  # words that post bodies are cut from
STEP = timedelta(seconds=1)


def post_texts(rng, target_length=140):
    """Yield endless varied post bodies of about ``target_length`` characters.

    Each body is a run of a long random word sequence, found by bisecting its running lengths:
    a few microseconds a post, so seeding a million stays a matter of seconds (the tests seed
    millions in all)."""
    words = [rng.choice(WORDS) for _ in range(SEQUENCE)]
    ends = list(accumulate(len(word) + 1 for word in words))
    last_start = SEQUENCE - 2 * target_length  # every run fits: each word is at least 1 char
    while True:
        start = rng.randrange(last_start)
        limit = rng.randint(target_length // 2, target_length + target_length // 2)
        before = ends[start - 1] if start else 0
        stop = bisect_left(ends, before + limit, lo=start) + 1
        yield " ".join(words[start:stop])[:POST_MAX_LENGTH]


def seed_posts(*, author, count, seed=None):
    """Append ``count`` posts by ``author`` with strictly increasing timestamps after their last."""
    rng = random.Random(seed)
    last = Post.objects.filter(author=author).aggregate(last=Max("timestamp"))["last"]
    start = timezone.now() - STEP * count
    if last is not None and start <= last:
        start = last + STEP
    texts = post_texts(rng)
    write_posts((author.pk, next(texts), start + STEP * i) for i in range(count))
    return count


def write_posts(rows):
    """Insert (author_id, body, timestamp) rows in one transaction, by the fastest bulk path."""
    table = Post._meta.db_table
    authors = set()

    def noting_authors(rows):
        for row in rows:
            authors.add(row[0])
            yield row

    rows = noting_authors(rows)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f'COPY "{table}" (author_id, body, timestamp) FROM STDIN'
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            adapt = connection.ops.adapt_datetimefield_value
            sql = f'INSERT INTO "{table}" (author_id, body, timestamp) VALUES (%s, %s, %s)'
            while batch := [(a, b, adapt(t)) for a, b, t in islice(rows, BATCH)]:
                cursor.executemany(sql, batch)
    users_changed(*authors)
