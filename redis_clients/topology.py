"""Which Redis primary the site reaches, and how many sentinels answer: for /healthz and /metrics.

A failover is invisible in "Redis answers PING": these say where the answer came from. With
sentinels, the deep health check fails when fewer of them answer than the quorum the primary is
watched with, as the next failover would then need an operator (docs/operations.md
"Redis: managed, or Sentinel").
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from prometheus_client.core import GaugeMetricFamily

import redis_clients

OK = "ok"


def primary_address(client: redis.Redis) -> str:
    """host:port of the Redis ``client`` last connected to (after a command went through)."""
    pool = client.connection_pool
    address = getattr(pool, "master_address", None)  # a sentinel-managed pool
    if address is None:
        kwargs = pool.connection_kwargs
        if "path" in kwargs:
            return f"unix:{kwargs['path']}"
        address = kwargs.get("host"), kwargs.get("port")
    host, port = address
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


@dataclass(frozen=True)
class Census:
    configured: int
    answering: int
    quorum: int | None  # as the sentinels that answered report it; None if none did

    @property
    def status(self) -> str:
        if self.quorum is not None and self.answering >= self.quorum:
            return OK
        quorum = "unknown" if self.quorum is None else self.quorum
        return f"{self.answering} of {self.configured} sentinels answer (quorum {quorum})"


def sentinel_census() -> Census:
    """Ask every configured sentinel, at once, about the primary (SENTINEL MASTER)."""
    config = settings.REDIS
    clients = _sentinel_clients(config)
    with ThreadPoolExecutor(len(clients)) as pool:
        replies = [reply for reply in pool.map(_ask(config.master), clients) if reply]
    quorum = max((int(reply["quorum"]) for reply in replies), default=None)
    return Census(configured=len(clients), answering=len(replies), quorum=quorum)


def _ask(master):
    def ask(client):
        try:
            return client.sentinel_master(master)
        except redis.RedisError:
            return None

    return ask


@cache
def _sentinel_clients(config: redis_clients.RedisConfig) -> list[redis.Redis]:
    kwargs = config.sentinel_kwargs()
    return [redis.Redis(host, port, **kwargs) for host, port in config.sentinels]


def health_check():
    """/healthz?deep=1's ``sentinels`` check."""
    if not settings.REDIS.sentinels:
        return "not configured (REDIS_URL)", {}
    census = sentinel_census()
    return census.status, {
        "sentinels_configured": census.configured,
        "sentinels_answering": census.answering,
        "sentinel_quorum": census.quorum,
    }


def metric_families():
    """The primary this process reaches, and, with sentinels, how many answer."""
    primary = GaugeMetricFamily(
        "microblog_redis_primary",
        "1 for the Redis primary (host:port) this web process reaches; none while it reaches none.",
        labels=["address"],
    )
    client = redis_clients.client(timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pass
    else:
        primary.add_metric([primary_address(client)], 1)
    yield primary
    if not settings.REDIS.sentinels:
        return
    census = sentinel_census()
    sentinels = GaugeMetricFamily(
        "microblog_redis_sentinels",
        "Redis sentinels configured, answering, and the quorum they report (-1: unknown).",
        labels=["state"],
    )
    sentinels.add_metric(["configured"], census.configured)
    sentinels.add_metric(["answering"], census.answering)
    sentinels.add_metric(["quorum"], -1 if census.quorum is None else census.quorum)
    yield sentinels
