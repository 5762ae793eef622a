"""Stream a user's posts out of the database as JSON objects, one per line, oldest first.

The database builds each JSON object itself (PostgreSQL ``json_build_object`` through COPY,
SQLite ``json_object``), so Python only moves bytes: memory stays flat and the export runs close
to the database's own speed. Each yielded chunk is ``(bytes, number_of_posts_in_it)`` in which
every post is followed by ``,\n`` (JSON escapes newlines, so posts contain none).
"""

import re
import select

from django.db import connection

from blog.models import Post

BATCH = 2000  # posts per chunk handed to the writer (PostgreSQL)
PAGE = 2000  # posts per keyset page, concatenated by SQLite into one chunk

# COPY in CSV format with quote and delimiter bytes that JSON output never contains: text format
# would escape the backslashes of the JSON a second time. The timestamp is PostgreSQL's own JSON
# rendering (a third cheaper than to_char's), in the session's time zone, set to UTC: each line
# ends ``...:SS.ffffff+00:00"}``, which _postgres_lines rewrites to the export's ``Z"}``.
POSTGRES_COPY = """
COPY (
    SELECT json_build_object('body', body, 'timestamp', timestamp)
    FROM {table} WHERE author_id = {author_id} ORDER BY timestamp, id
) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')
"""
# What every line ends with, and what it ends with in the export. The timestamp is each line's
# last field and a body's JSON string escapes quotes and newlines, so these bytes occur nowhere
# else in a line.
POSTGRES_LINE_END = b'+00:00"}\n'
EXPORT_LINE_END = b'Z"},\n'
# PostgreSQL drops a fraction's trailing zeros ("12:00:00.1", "12:00:00"); the export always
# has six digits.
_SHORT_FRACTION = re.compile(rb"(:\d\d)(?:\.(\d{1,5}))?(\+00:00\"}\n)$")

# Django stores SQLite datetimes as UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]" (the fraction, when
# present, always has six digits).
SQLITE_JSON = """json_object(
    'body', body,
    'timestamp', replace(timestamp, ' ', 'T')
                 || CASE WHEN length(timestamp) = 19 THEN '.000000Z' ELSE 'Z' END
)"""
# The whole export in one statement: what the sqlite3 shell runs as the benchmark's floor.
SQLITE_SELECT = f"""
SELECT {SQLITE_JSON}
FROM {{table}} WHERE author_id = ? ORDER BY timestamp, id
"""
# One keyset page, concatenated by SQLite itself: Python receives one value per PAGE posts
# instead of building a string and a tuple per post (half of the export's time when it did).
# group_concat takes its rows in the order the subquery (ORDER BY ... LIMIT, never flattened
# into an aggregate) produces them; exports/tests/test_streaming_chunks.py checks it across
# pages, including posts that share a timestamp.
SQLITE_PAGE = f"""
SELECT group_concat(post, ',' || char(10)) FROM (
    SELECT {SQLITE_JSON} AS post
    FROM {{table}} WHERE author_id = ? {{after}} ORDER BY timestamp, id LIMIT ?
)
"""
# Where the next page starts: the page's last post, found in the (author, timestamp) index alone
# (SQLite's indexes hold the rowid, so this reads no table row). ``|| ''`` keeps the stored text
# (the declared type would make Django's connection parse it into a datetime).
SQLITE_PAGE_END = """
SELECT timestamp || '', id FROM {table} WHERE author_id = ? {after}
ORDER BY timestamp, id LIMIT 1 OFFSET ?
"""
SQLITE_AFTER = "AND (timestamp, id) > (?, ?)"


def post_json_lines(author_id):
    table = connection.ops.quote_name(Post._meta.db_table)
    if connection.vendor == "postgresql":
        yield from _postgres_lines(table, int(author_id))
    elif connection.vendor == "sqlite":
        yield from _sqlite_lines(table, author_id)
    else:
        raise NotImplementedError(f"exports support PostgreSQL and SQLite, not {connection.vendor}")


def _own_connection():
    """A database connection for the stream alone, closed by the caller.

    Progress reports keep writing the Task row through Django's connection meanwhile. On
    PostgreSQL, psycopg locks a connection while COPY streams. On SQLite, a connection whose
    read snapshot is older than another connection's commit may not write any more (WAL's
    SQLITE_BUSY_SNAPSHOT, "database is locked"): with the stream and the reports on one
    connection, anyone else's post or log-in during an export would make its next report fail.
    """
    return connection.get_new_connection(connection.get_connection_params())


def _postgres_lines(table, author_id):
    """COPY's rows read straight from libpq.

    psycopg's ``Copy`` iterator runs a Python generator per row (~1 µs each, a quarter of the
    export); ``PGconn.get_copy_data`` is one C call per row. Reads are non-blocking and the wait
    is ``poll()``, so RQ's job-timeout signal still interrupts a stalled server.
    """
    from psycopg import errors, pq

    stream = _own_connection()
    try:
        pgconn = stream.pgconn
        encoding = stream.info.encoding
        readable = select.poll()
        readable.register(pgconn.socket, select.POLLIN)
        stream.execute("SET TIME ZONE 'UTC'")
        pgconn.send_query(POSTGRES_COPY.format(table=table, author_id=author_id).encode())
        _raise_unless(_next_result(pgconn, readable), pq.ExecStatus.COPY_OUT, encoding)
        get_copy_data, batch = pgconn.get_copy_data, []
        while True:
            size, row = get_copy_data(1)
            if size > 0:
                batch.append(row if row[-16] == DOT else _six_digits(row))
                if len(batch) == BATCH:
                    yield b"".join(batch).replace(POSTGRES_LINE_END, EXPORT_LINE_END), BATCH
                    batch.clear()
            elif size == 0:  # libpq holds no complete row: wait for the server
                readable.poll()
                pgconn.consume_input()
            elif size == -1:  # COPY is over; its outcome follows
                break
            else:
                raise errors.OperationalError(pgconn.get_error_message(encoding))
        if batch:
            yield b"".join(batch).replace(POSTGRES_LINE_END, EXPORT_LINE_END), len(batch)
        _raise_unless(_next_result(pgconn, readable), pq.ExecStatus.COMMAND_OK, encoding)
    finally:
        stream.close()


DOT = ord(".")  # where a line's fraction starts when it has six digits: 16 bytes from the end


def _six_digits(row):
    """A line whose fraction PostgreSQL shortened, with its six digits back."""
    return _SHORT_FRACTION.sub(
        lambda found: found[1] + b"." + (found[2] or b"").ljust(6, b"0") + found[3], bytes(row)
    )


def _next_result(pgconn, readable):
    """libpq's next result, waiting for it (``readable`` polls its socket) without blocking
    signals."""
    pgconn.consume_input()
    while pgconn.is_busy():
        readable.poll()
        pgconn.consume_input()
    return pgconn.get_result()


def _raise_unless(result, status, encoding):
    from psycopg import errors

    if result is None:
        raise errors.OperationalError("the server sent no result for the export's COPY")
    if result.status != status:
        raise errors.error_from_result(result, encoding=encoding)


def _sqlite_lines(table, author_id):
    stream = _own_connection()
    try:
        # Bytes as stored (UTF-8), never decoded into str and encoded back.
        stream.text_factory = bytes
        stream.isolation_level = None
        stream.execute("BEGIN")  # every page reads the same snapshot
        page_sql = SQLITE_PAGE.format(table=table, after="")
        end_sql = SQLITE_PAGE_END.format(table=table, after="")
        params = [author_id]
        while True:
            (chunk,) = stream.execute(page_sql, [*params, PAGE]).fetchone()
            if chunk is None:
                break
            end = stream.execute(end_sql, [*params, PAGE - 1]).fetchone()
            # A full page ends a ",\n"-separated run of PAGE posts; a short one is the last.
            yield chunk + b",\n", PAGE if end else chunk.count(b"\n") + 1
            if end is None:
                break
            timestamp, post_id = end
            params = [author_id, timestamp.decode(), post_id]
            page_sql = SQLITE_PAGE.format(table=table, after=SQLITE_AFTER)
            end_sql = SQLITE_PAGE_END.format(table=table, after=SQLITE_AFTER)
    finally:
        stream.close()
