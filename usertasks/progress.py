"""Getting a task's state to its owner's open pages: the Channels group, and how often.

usertasks/transitions.py decides what is written and calls ``publish`` once it is committed; the
consumer renders the language-free state it carries in each connection's language.
"""

import asyncio
import logging
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def user_group_name(user_id: int) -> str:
    """Group names allow only [A-Za-z0-9._-]: build them from the pk, never the username."""
    return f"user-{int(user_id)}.tasks"


class Broadcaster:
    """Sends group messages on one event loop, so a job reuses one Redis connection.

    ``async_to_sync(group_send)`` per message would build a new loop and connection each time.
    While Redis is unreachable each attempt costs seconds (redis-py retries with backoff), so
    after a failure the job's progress reports skip Redis for ``RETRY_AFTER`` seconds: the
    export goes on at full speed on the database alone, and final states are always tried.
    """

    RETRY_AFTER = 2.0

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.layer = get_channel_layer()
        self.quiet_until = 0.0
        try:
            self.loop.run_until_complete(self._connect())
        except Exception:
            logger.warning("could not reach the channel layer's Redis", exc_info=True)
            self.redis_failed()

    async def _connect(self):
        """Open the connection before the job writes its first state (``running``), which
        would otherwise wait for it, after the state's time was taken: 8.8 ms median in the
        burst, where later states wait 1 ms (bench/RESULTS.md §5). channels_redis opens it on
        its first publish and has no call to open it sooner."""
        for shard in self.layer._get_layer()._shards:
            async with shard._lock:
                shard._ensure_redis()
            await shard._redis.ping()

    def redis_unavailable(self) -> bool:
        return time.monotonic() < self.quiet_until

    def redis_failed(self) -> None:
        self.quiet_until = time.monotonic() + self.RETRY_AFTER

    def send(self, group: str, message: dict) -> None:
        self.loop.run_until_complete(self.layer.group_send(group, message))

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.layer.flush())  # this loop's connection only
        finally:
            self.loop.close()


def publish(user_id: int, state: dict[str, Any], broadcaster: Broadcaster | None = None) -> None:
    """Send a task's absolute state (payloads.task_state) to its owner's group; never raises:
    the row is the truth, and a page that missed this gets it with its next snapshot."""
    group = user_group_name(user_id)
    # The group travels with the message: a web process receives one copy on its inbox and
    # hands it to that group's sockets (usertasks.consumers._Inbox).
    message = {"type": "task.update", "group": group, "state": state}
    try:
        if broadcaster is not None:
            broadcaster.send(group, message)
        else:
            async_to_sync(get_channel_layer().group_send)(group, message)
    except Exception:
        logger.warning("could not broadcast task %s", state["id"], exc_info=True)
        if broadcaster is not None:
            broadcaster.redis_failed()


class Throttle:
    """Tells a loop when it is time to report: no more than every ``interval`` seconds."""

    def __init__(self, interval: float):
        self.interval = interval
        self.last = time.monotonic()

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            return True
        return False
