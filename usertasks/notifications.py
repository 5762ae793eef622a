"""The per-user notification stream: the event sources apps register, and how their events
reach a user's open pages (the websocket, docs/architecture.md "Private messages and
notifications") and ``/notifications/``.

The consumer sends tasks itself (their snapshot and the socket watch's catch-up of final states
predate this registry; usertasks/task_events.py adds their ``/notifications/`` entries). Any app
adds a type by
registering an ``EventSource`` in its ``AppConfig.ready()``: the consumer puts the source's part
in each connection's snapshot and forwards what ``notify`` publishes, the socket watch
(usertasks/socket_watch.py) catches up what the channel layer lost, and ``/notifications/``
lists the source's entries. None of them knows the source.

A source's events are absolute state (``{"type": "messages", "unread": 3}``, not "one more"):
the latest one replaces the earlier, so a duplicate is harmless and a lost one is made good by
sending the current one again.
"""

import asyncio
import logging
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from usertasks.progress import user_group_name

logger = logging.getLogger(__name__)

EVENT = "notification.event"  # the channel-layer message type that carries a source's event
PUBLISH_TIMEOUT = 2.0  # seconds: a frozen Redis must not hold the request that published


class EventSource:
    """One event type of the stream. Methods run in a database thread."""

    type: str = ""

    def snapshot(self, user) -> list[dict[str, Any]]:
        """Events a connecting page gets before the snapshot's end marker."""
        return []

    def changed(self, user_ids: frozenset[int], since: datetime) -> dict[int, dict[str, Any]]:
        """The current event of each of ``user_ids`` whose state may have changed since
        ``since``: the watch sends it to their sockets that last got another one."""
        return {}

    def notifications(self, user, since: float) -> list[dict[str, Any]]:
        """Entries of ``/notifications/``: ``{"name", "data", "timestamp"}`` (unix time)."""
        return []


_sources: dict[str, EventSource] = {}


def register(source: EventSource) -> None:
    if not source.type or source.type == "snapshot" or source.type in _sources:
        raise ValueError(f"an event source cannot be named {source.type!r}")
    _sources[source.type] = source


def sources() -> list[EventSource]:
    return list(_sources.values())


def snapshot_events(user) -> list[dict[str, Any]]:
    return [event for source in sources() for event in source.snapshot(user)]


def changed_events(user_ids: frozenset[int], since: datetime) -> dict[int, list[dict[str, Any]]]:
    changed: dict[int, list[dict[str, Any]]] = {}
    for source in sources():
        for user_id, event in source.changed(user_ids, since).items():
            changed.setdefault(user_id, []).append(event)
    return changed


def notify(user_id: int, event: dict[str, Any]) -> None:
    """Publish ``event`` to the user's open pages. Never raises and gives up after
    ``PUBLISH_TIMEOUT``: the database is the truth, and the watch or the next snapshot brings
    a page what this could not."""
    group = user_group_name(user_id)
    message = {"type": EVENT, "group": group, "event": event}
    try:
        async_to_sync(_publish)(group, message)
    except Exception:
        logger.warning("could not publish a %s event", event.get("type"), exc_info=True)


async def _publish(group: str, message: dict[str, Any]) -> None:
    await asyncio.wait_for(get_channel_layer().group_send(group, message), PUBLISH_TIMEOUT)
