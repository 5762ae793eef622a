"""The export's bytes as PostgreSQL's to_char formatted them before the stream rewrote its
cheaper output: what the stream must still produce (tests), and the floor it is measured
against (bench/export_throughput.py)."""

POSTGRES_FORMATTED = """
COPY (
    SELECT json_build_object(
        'body', body,
        'timestamp', to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    )
    FROM {table} WHERE author_id = {author_id} ORDER BY timestamp, id
) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')
"""
