"""Bulk creation of posts for demos and benchmarks (``manage.py seed_posts``).

Builds rows as plain tuples and writes them with the database's fastest bulk path (COPY on
PostgreSQL, one executemany per batch elsewhere): a million posts take seconds, not minutes.
"""

import random
from datetime import timedelta
from itertools import islice

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from microblog.models import POST_MAX_LENGTH, Post

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
STEP = timedelta(seconds=1)


def post_texts(rng, target_length=140):
    """Yield endless varied post bodies of about ``target_length`` characters."""
    while True:
        words = []
        length = 0
        limit = rng.randint(target_length // 2, target_length + target_length // 2)
        while length < limit:
            word = rng.choice(WORDS)
            words.append(word)
            length += len(word) + 1
        yield " ".join(words)[:POST_MAX_LENGTH]


def seed_posts(*, author, count, seed=None):
    """Append ``count`` posts by ``author`` with strictly increasing timestamps after their last."""
    rng = random.Random(seed)
    last = Post.objects.filter(author=author).aggregate(last=Max("timestamp"))["last"]
    start = timezone.now() - STEP * count
    if last is not None and start <= last:
        start = last + STEP
    texts = post_texts(rng)
    rows = ((author.pk, next(texts), start + STEP * i) for i in range(count))
    table = Post._meta.db_table
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
    return count
