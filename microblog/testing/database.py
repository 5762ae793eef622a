"""PostgreSQL sessions of the processes under test, to end them as a database restart would."""

import os

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
