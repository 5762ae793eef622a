"""Telling "the database went away" (a restart, a failover) from other database errors, and
waiting for it to come back.

A restart ends every session (PostgreSQL's ``admin_shutdown``, or the socket simply closes) and
refuses new ones until it is up. Such an error says nothing about the request or job that met
it: workers wait and then carry on or record that reason, pages answer 503 (ops/errors.py).
"""

import logging
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

# SQLSTATE classes of a lost or refused session: connection_exception, and operator
# intervention's shutdown codes (57P01 admin_shutdown … 57P05). 57014 (a statement timeout or
# cancel) is the query's own fault, not the database's.
GONE_SQLSTATES = ("08", "57P")
MAX_DELAY = 2.0  # seconds between attempts: a restart is noticed within that of its end


def went_away(error: BaseException) -> bool:
    """Did ``error`` come from losing the database rather than from the query itself?"""
    driver = connection.Database  # a connection of its own (the export's stream) raises these
    if isinstance(error, (OperationalError, InterfaceError)):
        error = error.__cause__
    elif not isinstance(error, (driver.OperationalError, driver.InterfaceError)):
        return False
    sqlstate = getattr(error, "sqlstate", "")
    if sqlstate is None or (sqlstate and sqlstate.startswith(GONE_SQLSTATES)):
        return True  # psycopg: a closed socket has no SQLSTATE at all
    return not reachable()


def reachable() -> bool:
    """Does a new session on the default database open? (Never reuses this thread's own.)"""
    try:
        raw = connection.get_new_connection(connection.get_connection_params())
    except Exception:  # noqa: BLE001 - the driver's own errors, unwrapped: any means "no"
        return False
    raw.close()
    return True


def wait_for_database(timeout: float | None = None) -> bool:
    """Block until the default database answers, at most ``timeout`` seconds
    (DATABASE_WAIT_SECONDS); False if it did not. Leaves this thread with a fresh connection."""
    timeout = settings.DATABASE_WAIT_SECONDS if timeout is None else timeout
    deadline = time.monotonic() + timeout
    delay, waited = 0.1, False
    while True:
        try:
            connection.close()
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except (OperationalError, InterfaceError):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                logger.error("the database is still unreachable after %.0f s", timeout)
                return False
            if not waited:
                logger.warning("the database is unreachable; waiting up to %.0f s", timeout)
                waited = True
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, MAX_DELAY)
        else:
            if waited:
                logger.info("the database is reachable again")
            return True
