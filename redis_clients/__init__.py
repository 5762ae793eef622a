"""Every Redis client of the site, built from one configuration: REDIS_URL, or Redis Sentinel.

With REDIS_SENTINELS set, each client asks the sentinels for the primary whenever it connects
(redis-py's ``Sentinel.master_for``), so once the sentinels have promoted a replica, a client
whose connection broke reconnects to the new primary: no process keeps a dead primary's
address (docs/operations.md "Redis: managed, or Sentinel"). The RQ queues and the channel
layer, which build their own clients, get their settings from here too
(``RedisConfig.rq_connection`` and ``RedisConfig.channel_layer_host``).
"""

from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache

import redis
import redis.asyncio
import redis.asyncio.sentinel
from django.conf import settings
from redis.sentinel import Sentinel, SentinelManagedConnection

# How long a client waits for a sentinel: one that does not answer is skipped for the next.
SENTINEL_TIMEOUT = 1.0


class PrimaryConnection(SentinelManagedConnection):
    """redis-py's sentinel-managed connection, dropped like its plain one when a read is cut
    short by an exception (a signal handler's, a job timeout's). redis-py 8.1's kept it, and the
    next command on it read the reply of the one cut short: RQ's warm shutdown, which stops a
    worker blocked on the queue, then failed with "Wrong number of response items"."""

    def read_response(self, *args, disconnect_on_error=True, **kwargs):
        return super().read_response(*args, disconnect_on_error=disconnect_on_error, **kwargs)


@dataclass(frozen=True)
class RedisConfig:
    """Where Redis is: ``url``, unless ``sentinels`` ((host, port) pairs) name the sentinels
    that watch the primary called ``master``."""

    url: str
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str = ""
    password: str = ""
    sentinel_password: str = ""
    db: int = 0

    def sentinel_kwargs(self) -> dict:
        return {
            "socket_timeout": SENTINEL_TIMEOUT,
            "socket_connect_timeout": SENTINEL_TIMEOUT,
            "password": self.sentinel_password or None,
        }

    def primary_kwargs(self) -> dict:
        return {"db": self.db, "password": self.password or None}

    def rq_connection(self) -> dict:
        """The connection keys of a django-rq ``RQ_QUEUES`` entry (django_rq.connection_utils)."""
        if not self.sentinels:
            return {"URL": self.url}
        return {
            "SENTINELS": list(self.sentinels),
            "MASTER_NAME": self.master,
            "DB": self.db,
            "PASSWORD": self.password or None,
            "SENTINEL_KWARGS": self.sentinel_kwargs(),
            "CONNECTION_KWARGS": {"connection_class": PrimaryConnection},
        }

    def channel_layer_host(self) -> dict:
        """A channels-redis host entry (channels_redis.utils.create_pool). No socket timeout on
        the primary: the layer's subscription waits on its connection for as long as it is quiet."""
        if not self.sentinels:
            return {"address": self.url}
        return {
            "sentinels": list(self.sentinels),
            "master_name": self.master,
            "sentinel_kwargs": self.sentinel_kwargs(),
            **self.primary_kwargs(),
        }


def client(*, timeout: float | None = None) -> redis.Redis:
    """This process's client of the primary (thread-safe; redis-py starts afresh after a fork).
    ``timeout``: seconds to wait for a connection and for each answer (None: no limit)."""
    return _client(settings.REDIS, timeout)


@cache
def _client(config: RedisConfig, timeout: float | None) -> redis.Redis:
    options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if not config.sentinels:
        return redis.Redis.from_url(config.url, **options)
    sentinel = Sentinel(config.sentinels, sentinel_kwargs=config.sentinel_kwargs())
    return sentinel.master_for(
        config.master, connection_class=PrimaryConnection, **config.primary_kwargs(), **options
    )


def queue(name: str = "default", *, timeout: float | None = None):
    """An RQ queue on this process's client: django_rq.get_queue alone opens a new client (and,
    with sentinels, new connections to each of them) at every call."""
    import django_rq  # not at import: settings.py imports this module, and django_rq reads them

    return django_rq.get_queue(name, connection=client(timeout=timeout))


@asynccontextmanager
async def async_client(*, timeout: float | None = None):
    """A client of the primary for one event loop, closed (sentinel connections too) on exit."""
    config = settings.REDIS
    options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if not config.sentinels:
        primary = redis.asyncio.Redis.from_url(config.url, **options)
        try:
            yield primary
        finally:
            await primary.aclose()
        return
    sentinel = redis.asyncio.sentinel.Sentinel(
        config.sentinels, sentinel_kwargs=config.sentinel_kwargs()
    )
    primary = sentinel.master_for(config.master, **config.primary_kwargs(), **options)
    try:
        yield primary
    finally:
        await primary.aclose()
        await sentinel.aclose()
