"""pytest plugin: a transactional test's flush empties only what the test wrote.

Django's flush after a transactional test empties every table, the content types and
permissions included, then sends post_migrate, whose handlers write those rows again, one
query or more per model: about 70 % of a flush (0.14 of 0.20 s on an idle PostgreSQL), paid
after each of about 300 tests. Those two tables hold only what the migrations define, the same
before and after any test, so the flush here empties every other table and sends nothing.

On PostgreSQL, Django empties them with one TRUNCATE of every table, which costs the server
about 20 ms of CPU even when they are empty (each table and index gets new files). Most tests
leave rows in a few tables: those are emptied with DELETE, and only a table left with many rows
is truncated.
"""

KEPT = frozenset({"django_content_type", "auth_permission"})
MANY_ROWS = 1000  # from here TRUNCATE, whose cost does not grow with the rows, beats DELETE


def _fixture_teardown(self):
    from django.core.management.color import no_style
    from django.db import connections

    for alias in self._databases_names(include_mirrors=False):
        connection = connections[alias]
        tables = connection.introspection.django_table_names(
            only_existing=True, include_views=False
        )
        tables = [table for table in tables if table not in KEPT]
        if connection.vendor == "postgresql":
            _empty_postgresql_tables(connection, tables)
        else:
            sql = connection.ops.sql_flush(no_style(), tables, allow_cascade=False)
            connection.ops.execute_sql_flush(sql)


def _empty_postgresql_tables(connection, tables):
    """DELETE the rows of each table the test wrote a few to, TRUNCATE those it wrote many to.
    Django's foreign keys on PostgreSQL are deferrable: checked once all tables are empty."""
    from django.db import transaction

    quote = connection.ops.quote_name  # the names are the models' tables, from introspection
    rows = " UNION ALL ".join(
        f"SELECT %s, (SELECT count(*) FROM (SELECT FROM {quote(table)} LIMIT {MANY_ROWS}) AS t)"  # noqa: S608
        for table in tables
    )
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(rows, tables)
        counts = cursor.fetchall()
        # First: PostgreSQL refuses to truncate a table with checks pending from a DELETE.
        if many := [quote(table) for table, count in counts if count >= MANY_ROWS]:
            cursor.execute(f"TRUNCATE {', '.join(many)} CASCADE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table, count in counts:
            if 0 < count < MANY_ROWS:
                cursor.execute(f"DELETE FROM {quote(table)}")  # noqa: S608
