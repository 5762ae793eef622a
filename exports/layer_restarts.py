"""Renews a web process's websockets when the channel layer's Redis has restarted.

Group memberships live in Redis. After a restart without persistence they are gone, and
updates sent while Redis was down are lost in any case. channels-redis reconnects quietly, so
only the one socket that was reading from Redis at that moment notices; every other socket
would stay open and hear nothing ever again. Each web process therefore watches Redis's
``run_id`` and, when it changes, closes its sockets (code 4012: autobahn lets a server send
only 1000 or 3000-4999): browsers reconnect, join their group again and receive a fresh
snapshot.
"""

import asyncio
import logging
import weakref

import redis.asyncio
from django.conf import settings
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

REDIS_RESTARTED = 4012
CHECK_INTERVAL = 2.0  # seconds between two looks at Redis, per web process


class RenewedWhenRedisRestarts:
    """Consumer mixin: once accepted, the socket is closed if Redis restarts."""

    async def accept(self, *args, **kwargs):
        await super().accept(*args, **kwargs)
        _watch().add(self)

    async def websocket_disconnect(self, message):
        _watch().discard(self)
        await super().websocket_disconnect(message)

    async def redis_restarted(self):
        await self.close(code=REDIS_RESTARTED)


class _RestartWatch:
    def __init__(self):
        self.consumers = set()
        self.task = None

    def add(self, consumer):
        self.consumers.add(consumer)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._watch())

    def discard(self, consumer):
        self.consumers.discard(consumer)

    async def _watch(self):
        client = redis.asyncio.Redis.from_url(
            settings.REDIS_URL, socket_timeout=CHECK_INTERVAL, socket_connect_timeout=CHECK_INTERVAL
        )
        known = None
        try:
            while self.consumers:
                run_id = await _run_id(client)
                if run_id and known and run_id != known:
                    logger.warning("Redis restarted: renewing %d websocket(s)", len(self.consumers))
                    for consumer in list(self.consumers):
                        self.consumers.discard(consumer)
                        try:
                            await consumer.redis_restarted()
                        except Exception:  # one socket's failure must not spare the others
                            logger.exception("could not renew a websocket")
                known = run_id or known
                await asyncio.sleep(CHECK_INTERVAL)
        finally:
            await client.aclose()


async def _run_id(client):
    try:
        return (await client.info("server"))["run_id"]
    except (RedisError, OSError):
        return None  # down: the comparison waits until it answers again


_watches = weakref.WeakKeyDictionary()  # one per event loop (daphne has one; tests have many)


def _watch():
    loop = asyncio.get_running_loop()
    if loop not in _watches:
        _watches[loop] = _RestartWatch()
    return _watches[loop]
