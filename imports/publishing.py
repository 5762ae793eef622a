"""Writing an import's posts in short transactions, and taking them back.

All or nothing without one long write transaction: each batch is its own short transaction
(on SQLite a few milliseconds, then a pause that lets every other writer in), and every post
it writes is tagged with the import's task id (Post.import_task_id). Until the task succeeds,
an ImportRun row marks those posts provisional; a failed or cancelled import deletes them by
that tag, in short steps too (``undo``) — from the job itself, or, if the job was killed, from
the worker's reconciliation (imports/settling.py).

A post the user already has (same timestamp and body) is skipped, and so is a repeat within the
archive: importing the same archive twice, or one's own export, adds nothing.
"""

import time
from contextlib import contextmanager
from itertools import pairwise

from django.db import connection, transaction

from blog.models import Post
from blog.timeline_page import users_changed

TABLE = Post._meta.db_table
# Rows per transaction. On SQLite one batch holds the only write lock: keep it to ~40 ms,
# then leave it free for a while so a waiting writer gets in (SQLite's busy handler retries
# on a timer, so a writer that instantly re-takes the lock would starve the others).
SQLITE_BATCH = 4_000
POSTGRES_BATCH = 10_000

SQLITE_EXISTING = """
SELECT CAST(timestamp AS TEXT), body FROM "{table}"
WHERE author_id = %s AND timestamp IN ({stamps})
"""
SQLITE_INSERT = """
INSERT INTO "{table}" (author_id, body, timestamp, import_task_id) VALUES (%s, %s, %s, %s)
"""
POSTGRES_EXISTING = """
SELECT timestamp, body FROM "{table}" WHERE author_id = %s AND timestamp = ANY(%s)
"""
# An archive in time order (exports are) gives batches that span a range: one range scan of
# post_author_time costs far less than matching 20,000 values.
POSTGRES_EXISTING_RANGE = """
SELECT timestamp, body FROM "{table}" WHERE author_id = %s AND timestamp BETWEEN %s AND %s
"""
POSTGRES_COPY = 'COPY "{table}" (author_id, body, timestamp, import_task_id) FROM STDIN'

SQLITE_INSERT = SQLITE_INSERT.format(table=TABLE)
SQLITE_EXISTING = SQLITE_EXISTING.replace("{table}", TABLE)
POSTGRES_EXISTING = POSTGRES_EXISTING.format(table=TABLE)
POSTGRES_EXISTING_RANGE = POSTGRES_EXISTING_RANGE.format(table=TABLE)
POSTGRES_COPY = POSTGRES_COPY.format(table=TABLE)


def batch_size() -> int:
    return POSTGRES_BATCH if connection.vendor == "postgresql" else SQLITE_BATCH


class Pacer:
    """On SQLite, keeps the write lock free between two batches for a while (PAUSE times as
    long as the last batch held it). Time spent meanwhile (reading the next batch) counts.

    Within a ``writing()`` block this connection's commits skip SQLite's automatic checkpoint
    (a commit that checkpoints holds the lock while it copies the WAL into the database): the
    pacer checkpoints in the pauses instead, which needs no write lock, so others write
    meanwhile.
    """

    # The pause, as a fraction of the time the lock was held: measured, 0.5 keeps every other
    # writer's wait well under 200 ms (imports/tests/test_worker_flow.py) at 2/3 of the speed.
    PAUSE = 0.5
    CHECKPOINT_EVERY = 8  # batches: each checkpoint ends with an fsync, a fixed cost

    @property
    def threaded(self) -> bool:
        """Whether reading should overlap writing: only when a server does the writing."""
        return connection.vendor == "postgresql"

    def __init__(self):
        self.held = 0.0
        self.released = 0.0
        self.checkpoints = False
        self.batches = 0

    @contextmanager
    def writing(self):
        if connection.vendor != "sqlite":
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint = 0")
        self.checkpoints = True
        try:
            yield
        finally:
            self.checkpoints = False
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_autocheckpoint = 1000")  # SQLite's default
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def wait(self):
        if connection.vendor != "sqlite":
            return
        self.batches += 1
        if self.checkpoints and self.batches % self.CHECKPOINT_EVERY == 0:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        time.sleep(max(0.0, self.PAUSE * self.held - (time.monotonic() - self.released)))

    @contextmanager
    def hold(self):
        self.wait()
        started = time.monotonic()
        try:
            yield
        finally:
            self.released = time.monotonic()
            self.held = self.released - started


def insert_batch(*, task_id: str, author_id: int, posts: list, pacer: Pacer) -> int:
    """Insert ``posts`` [(body, timestamp)] in one short transaction; returns how many were new."""
    if connection.vendor == "postgresql":
        inserted = _insert_postgres(task_id, author_id, posts)
    else:
        with pacer.hold():
            inserted = _insert_sqlite(task_id, author_id, posts)
    users_changed(author_id)
    return inserted


def _insert_sqlite(task_id, author_id, posts):
    # What Django's adapt_datetimefield_value stores for an aware UTC datetime, at a fraction
    # of its cost (it converts time zones for each value).
    stamped = [(body, str(moment.replace(tzinfo=None))) for body, moment in posts]
    stamps = list({stamp for _, stamp in stamped})
    existing_sql = SQLITE_EXISTING.format(stamps=", ".join(["%s"] * len(stamps)))
    with transaction.atomic(), connection.cursor() as cursor:
        # One indexed look-up for the whole batch, inside the write transaction: what it
        # found cannot change before the insert. CAST: the stored text, not a datetime that
        # the driver's converter would make of it.
        cursor.execute(existing_sql, [author_id, *stamps])
        present = {(stamp, body) for stamp, body in cursor.fetchall()}
        rows = []
        for body, stamp in stamped:
            if (stamp, body) not in present:
                present.add((stamp, body))  # a repeat within the archive
                rows.append((author_id, body, stamp, task_id))
        cursor.executemany(SQLITE_INSERT, rows)
    return len(rows)


def _insert_postgres(task_id, author_id, posts):
    moments = [moment for _, moment in posts]
    in_order = all(a <= b for a, b in pairwise(moments))
    with transaction.atomic(), connection.cursor() as cursor:
        # One indexed look-up for the batch (post_author_time), then COPY: the floor's own path.
        if in_order:
            cursor.execute(POSTGRES_EXISTING_RANGE, [author_id, moments[0], moments[-1]])
        else:
            cursor.execute(POSTGRES_EXISTING, [author_id, list(set(moments))])
        present = set(cursor.fetchall())
        inserted = 0
        with cursor.cursor.copy(POSTGRES_COPY) as copy:
            for body, moment in posts:
                if (moment, body) not in present:
                    present.add((moment, body))  # a repeat within the archive
                    copy.write_row((author_id, body, moment, task_id))
                    inserted += 1
    return inserted


def undo(task_id: str) -> int:
    """Delete every post of this import, a batch per transaction; returns how many."""
    deleted = 0
    size = batch_size()
    pacer = Pacer()
    while True:
        with pacer.hold(), transaction.atomic():
            rows = list(
                Post.objects.filter(import_task_id=task_id).values_list("pk", "author_id")[:size]
            )
            ids = [pk for pk, _ in rows]
            if ids:
                Post.objects.filter(pk__in=ids).delete()
        if not ids:
            return deleted
        users_changed(*{author for _, author in rows})
        deleted += len(ids)
