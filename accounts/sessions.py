"""Django's database sessions, read with one SQL statement of our own (SESSION_ENGINE)."""

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

SELECT = "SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s"


class SessionStore(db.SessionStore):
    """Every page of a logged-in user reads its session first. Django's ORM look-up of it
    (building a filter, compiling it, making a model) cost about 150 µs of Python, as much as
    the rest of what a cached timeline page does for its reader (bench/RESULTS.md §13); this
    reads the same row, under the same conditions, with one prepared statement. Sessions are
    created, saved, cycled, expired and deleted exactly as by Django's ``db`` engine."""

    def _get_session_from_db(self):
        connection = connections[router.db_for_read(self.model)]
        table = connection.ops.quote_name(self.model._meta.db_table)
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(SELECT.format(table=table), [self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return self.model(session_key=self.session_key, session_data=row[0])
