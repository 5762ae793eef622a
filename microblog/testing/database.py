"""PostgreSQL sessions of the processes under test, to end them as a database restart would."""

import psutil
from django.db import connection


def backends_of(pid):
    """``(backend pid, current query)`` of each server session process ``pid`` holds."""
    ports = {c.laddr.port for c in psutil.Process(pid).net_connections("tcp") if c.raddr}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, client_port, query FROM pg_stat_activity"
            " WHERE datname = current_database()"
        )
        return [(backend, query) for backend, port, query in cursor.fetchall() if port in ports]


def terminate(backends):
    """``pg_terminate_backend`` each of ``backends``: their clients see the connection drop."""
    with connection.cursor() as cursor:
        for backend in backends:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
