"""PostgreSQL sessions of the processes under test, to end them as a database restart would."""

import os
from contextlib import contextmanager

import psutil
from django.db import connection


def backends_of(pid):
    """``(backend pid, current query)`` of each server session process ``pid`` holds."""
    ports = _client_ports(pid)
    return [(backend, query) for backend, port, query in _sessions() if port in ports]


def backends_of_other_processes():
    """The sessions on the test database that this test process does not hold (in any of
    its threads): those of the servers and workers under test."""
    own = _client_ports(os.getpid())
    return [backend for backend, port, _ in _sessions() if port not in own]


def _client_ports(pid):
    return {c.laddr.port for c in psutil.Process(pid).net_connections("tcp") if c.raddr}


def _sessions():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, client_port, query FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchall()


def terminate(backends):
    """``pg_terminate_backend`` each of ``backends``: their clients see the connection drop."""
    with connection.cursor() as cursor:
        for backend in backends:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend])


@contextmanager
def down():
    """The test database as a restart leaves it for the length of the block: every session of
    the processes under test ends and new ones are refused (the test's own session stays, to
    let them in again). Leaves it open to connections however the block ends."""
    _allow_connections(False)
    try:
        terminate(backends_of_other_processes())
        yield
    finally:
        _allow_connections(True)


def _allow_connections(allowed):
    """From a session on the server's maintenance database: PostgreSQL refuses to close the
    database a session is connected to."""
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(allowed).lower()}")
