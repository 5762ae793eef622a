"""daphne's access log as log records, one JSON object per line (serverpatches/access_log.py)."""

import io
import json
import logging

import pytest
from websockets.sync.client import connect

from ops.logging import JSONFormatter
from serverpatches.access_log import LoggingAccessLog
from testkit.raw_http import session_cookie
from testkit.visitor import Visitor
from testkit.waiting import wait_until


def test_daphne_access_log_entries_become_log_records():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger("daphne.access")
    logger.addHandler(handler)
    try:
        LoggingAccessLog(stream=None)(
            "http",
            "complete",
            {"client": "127.0.0.1:5000", "method": "GET", "path": "/", "status": 200, "size": 12},
        )
    finally:
        logger.removeHandler(handler)

    [entry] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert entry["logger"] == "daphne.access"
    assert entry["message"] == '127.0.0.1:5000 "GET /" 200 12'


def json_lines(web):
    """Every line of a daphne's output, parsed, or None where a line is not JSON."""
    parsed = []
    for line in web.output().splitlines():
        try:
            parsed.append(json.loads(line))
        except ValueError:
            parsed.append(None)
    return parsed


def access_entries(web):
    return [
        entry["message"]
        for entry in json_lines(web)
        if entry is not None and entry.get("logger") == "daphne.access"
    ]


@pytest.mark.django_db(transaction=True)
def test_a_real_daphne_logs_each_request_and_websocket_as_one_json_line(web, user):
    Visitor(web.url).get("/healthz")
    cookie = {"Cookie": session_cookie(user)}
    with connect(
        web.url.replace("http", "ws", 1) + "/ws/tasks/", origin=web.url, additional_headers=cookie
    ):
        pass

    entries = wait_until(lambda: len(access_entries(web)) >= 3 and access_entries(web), 30)
    assert any('"GET /healthz" 200' in entry for entry in entries)
    assert any('"WSCONNECT /ws/tasks/"' in entry for entry in entries)
    assert None not in json_lines(web), "a line of daphne's output is not JSON"
