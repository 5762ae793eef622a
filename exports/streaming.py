"""Stream a user's posts out of the database as JSON objects, one per line, oldest first.

The database builds each JSON object itself (PostgreSQL ``json_build_object`` through COPY,
SQLite ``json_object``), so Python only moves bytes: memory stays flat and the export runs close
to the database's own speed. Each yielded chunk is ``(bytes, number_of_posts_in_it)`` in which
every post is followed by ``,\n`` (JSON escapes newlines, so posts contain none).
"""

from django.db import connection

from microblog.models import Post

BATCH = 2000  # posts per chunk handed to the writer

# COPY in CSV format with quote and delimiter bytes that JSON output never contains: text format
# would escape the backslashes of the JSON a second time.
POSTGRES_COPY = """
COPY (
    SELECT json_build_object(
        'body', body,
        'timestamp', to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    )
    FROM {table} WHERE author_id = {author_id} ORDER BY timestamp, id
) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')
"""

# Django stores SQLite datetimes as UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]" (the fraction, when
# present, always has six digits).
SQLITE_SELECT = """
SELECT json_object(
    'body', body,
    'timestamp', replace(timestamp, ' ', 'T')
                 || CASE WHEN length(timestamp) = 19 THEN '.000000Z' ELSE 'Z' END
)
FROM {table} WHERE author_id = ? ORDER BY timestamp, id
"""


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
    stream = _own_connection()
    sql = POSTGRES_COPY.format(table=table, author_id=author_id)
    try:
        with stream.cursor() as cursor, cursor.copy(sql) as copy:
            # psycopg hands over one row at a time: batch them so the writer works per batch.
            batch = []
            for row in copy:
                batch.append(row)
                if len(batch) == BATCH:
                    yield b"".join(batch).replace(b"\n", b",\n"), BATCH
                    batch.clear()
            if batch:
                yield b"".join(batch).replace(b"\n", b",\n"), len(batch)
    finally:
        stream.close()


def _sqlite_lines(table, author_id):
    stream = _own_connection()
    try:
        cursor = stream.execute(SQLITE_SELECT.format(table=table), [author_id])
        while rows := cursor.fetchmany(BATCH):
            yield (",\n".join([row[0] for row in rows]) + ",\n").encode(), len(rows)
    finally:
        stream.close()
