"""Every Redis client of the site follows REDIS_SENTINELS, when set (redis_clients/__init__.py).

A child process is configured with sentinels where none answers, and REDIS_URL at a live Redis:
a client that still read REDIS_URL would reach it. None may.
"""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from ops.mail import EMAIL_FAILURES_KEY
from testkit.processes import private_port

EVERY_CLIENT = r"""
import asyncio, json, types
from concurrent.futures import ThreadPoolExecutor

import django
django.setup()

import django_rq
from channels.layers import get_channel_layer
from django.test import RequestFactory

from usertasks import consumers, services, socket_watch
from prometheus_client import generate_latest
from ops import health, mail, metrics


def outcome(call):
    # "reached", or the error that stopped the client (health and metrics raise none).
    try:
        return "reached" if call() is not False else "unreachable"
    except Exception as error:
        return type(error).__name__


async def watch():
    # The watch renews its pages when it finds no Redis (a live one it only records).
    renewed = asyncio.Event()

    class Page:
        unfinished = set()
        scope = {"user": types.SimpleNamespace(pk=0)}  # the watch keeps sockets by user

        async def renew(self):
            renewed.set()

    page = Page()
    socket_watch._watch().add(page)
    await asyncio.wait_for(renewed.wait(), 20)
    return False


class Socket:
    pass


async def join_inbox():
    await consumers._inbox("default").join("g", Socket())


def scrape():
    text = generate_latest(metrics.SHARED)
    return b'microblog_metrics_source_up{source="redis"} 1.0' in text


CLIENTS = {
    "tasks' queue": lambda: services.get_queue().connection.ping(),
    "rqworker's queue": lambda: django_rq.get_connection("default").ping(),
    "channel layer": lambda: asyncio.run(get_channel_layer().group_send("g", {"type": "t"})),
    "inbox": lambda: asyncio.run(join_inbox()),
    "socket watch": lambda: asyncio.run(watch()),
    "health": lambda: health.healthz(RequestFactory().get("/healthz")).status_code == 200,
    "metrics": scrape,
}
# At once: each client tries for seconds (redis-py's retries) before it gives up.
with ThreadPoolExecutor(len(CLIENTS)) as pool:
    outcomes = dict(zip(CLIENTS, pool.map(outcome, CLIENTS.values())))
mail.record_email_failure()  # a counter: the test looks for it where REDIS_URL points
print(json.dumps(outcomes))
"""


@pytest.mark.slow
def test_with_sentinels_set_no_client_reaches_redis_url(redis_client):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "microblog.settings",
        "DATABASE_URL": "sqlite://:memory:",
        "REDIS_URL": settings.REDIS_URL,  # live: the session's Redis
        "REDIS_SENTINELS": f"127.0.0.1:{private_port()}",  # nothing listens there
        "REDIS_SENTINEL_MASTER": "microblog",
    }
    result = subprocess.run(
        [sys.executable, "-c", EVERY_CLIENT],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout.splitlines()[-1])
    # No primary found: the sentinels were asked, and REDIS_URL never was.
    asked_the_sentinels = dict.fromkeys(outcomes, "MasterNotFoundError")
    for name in ("socket watch", "health", "metrics"):
        asked_the_sentinels[name] = "unreachable"
    assert outcomes == asked_the_sentinels
    assert redis_client.get(EMAIL_FAILURES_KEY) is None
