"""A watch over each web process's task websockets, restoring what the channel layer loses.

The channel layer (Redis pub/sub) is best-effort, and its losses would leave a page wrong for
good:

- **Redis unreachable or restarted.** The layer reconnects and subscribes again by itself, and
  what was published meanwhile is lost without a word to the sockets: a page would miss a
  ``queued`` or ``running`` state and never say it had been cut off. The watch asks Redis every
  ``CHECK_INTERVAL``; when Redis refuses the connection, or answers with another ``run_id``
  (it restarted), the watch closes its sockets (code 4012: autobahn lets a server send only
  1000 or 3000-4999). Browsers say they are reconnecting, come back once Redis answers, join
  their group again and receive a fresh snapshot. An answer that is only slow (an overloaded
  process) is not taken for an outage.
- **Dropped messages.** Redis drops a subscriber that stops reading (a stalled or overloaded
  web process past its output buffer limit) and the layer's reconnection misses what was sent
  meanwhile; a worker's publish fails while Redis is unreachable. A missed progress update is
  harmless; a missed final state would leave a card running forever. So each socket remembers
  which tasks it last showed unfinished, and the watch reads those rows, in one query per
  process, every ``CHECK_INTERVAL``: a task that ended at least ``CHECK_INTERVAL`` ago (its own
  message has had time to arrive; sending it again would be a duplicate) is sent to the sockets
  still showing it running. The watch keeps, per task, the sockets showing it unfinished, so a
  check costs what is unfinished, not one step per socket (idle sockets are most of them).
- **Lost events of the other sources** (usertasks/notifications.py) are made good the same way:
  every ``CHECK_INTERVAL`` each source names the users among this process's whose state
  changed since the previous look (less ``CATCH_UP_MARGIN``), and their current event goes to
  each of their sockets that last got another one. A publish that failed (Redis down or
  frozen) thus reaches the pages within seconds, through the database alone.
"""

import asyncio
import logging
import os
import time
import weakref
from datetime import datetime, timedelta

from channels.db import database_sync_to_async
from django.db import DatabaseError
from django.utils import timezone
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

import redis_clients
from usertasks import notifications
from usertasks.models import Task
from usertasks.payloads import task_state

logger = logging.getLogger(__name__)

RENEW = 4012  # close code: reconnect for a fresh snapshot
CHECK_INTERVAL = 2.0  # seconds between two looks at Redis and at unfinished tasks, per process
# How far before the previous look at the event sources the next one reaches back: a row may
# be committed a little after the time it carries.
CATCH_UP_MARGIN = timedelta(seconds=5 * CHECK_INTERVAL)


class WatchedTaskSocket:
    """Consumer mixin: once accepted, the socket is closed if Redis restarts, and receives the
    final state of every task it shows unfinished, even if the channel layer lost it.

    The consumer sends every task state through ``send_state``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unfinished = set()  # ids of the tasks whose last state sent here was active
        self.shown_events = {}  # event type -> the last event of that type sent here
        self.event_sent_at = 0.0  # time.monotonic() of the last one

    async def accept(self, *args, **kwargs):
        await super().accept(*args, **kwargs)
        _watch().add(self)

    async def websocket_disconnect(self, message):
        _watch().discard(self)
        await super().websocket_disconnect(message)

    async def send_state(self, state, rendered=None):
        """Send ``state`` rendered in this socket's language. ``rendered`` (language -> text),
        shared by the sockets that receive one message, renders it once per language."""
        if state["status"] in Task.ACTIVE_STATUSES:
            if state["id"] not in self.unfinished:
                self.unfinished.add(state["id"])
                _watch().shows(state["id"], self)
        elif state["id"] in self.unfinished:
            self.unfinished.discard(state["id"])
            _watch().stops_showing(state["id"], self)
        if rendered is None:
            rendered = {}
        text = rendered.get(self.language)
        if text is None:
            text = rendered[self.language] = await self.encode_json(
                {"type": "task", "task": self.render(state)}
            )
        await self.send(text_data=text)

    async def send_event(self, event, message=None):
        """Send a registered source's ``event``; ``message``, shared by the sockets that
        receive one channel-layer message, encodes it once."""
        self.shown_events[event["type"]] = event
        self.event_sent_at = time.monotonic()
        if message is None:
            message = {}
        if "text" not in message:
            message["text"] = await self.encode_json(event)
        await self.send(text_data=message["text"])

    async def renew(self):
        """Close, so the browser reconnects, joins its group again and gets a fresh snapshot."""
        await self.close(code=RENEW)


async def renew(consumers):
    """``renew()`` each socket: one socket's failure must not spare the others."""
    for consumer in consumers:
        try:
            await consumer.renew()
        except Exception:
            logger.exception("could not renew a websocket")


class _Watch:
    def __init__(self):
        # Weak: a consumer that crashed (its channel layer failed) never reaches
        # websocket_disconnect, and must not be kept alive, or watched, for ever.
        self.consumers = weakref.WeakSet()
        self.showing = {}  # task id -> WeakSet of the sockets whose last state of it was active
        self.by_user = {}  # user id -> WeakSet of that user's sockets
        self.task = None
        self.events_looked_at = timezone.now()  # when the last read of the event sources began

    def add(self, consumer):
        self.consumers.add(consumer)
        self.by_user.setdefault(consumer.scope["user"].pk, weakref.WeakSet()).add(consumer)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())

    def discard(self, consumer):
        self.consumers.discard(consumer)
        user_id = getattr(consumer.scope.get("user"), "pk", None)
        sockets = self.by_user.get(user_id)
        if sockets is not None:
            sockets.discard(consumer)
            if not sockets:
                del self.by_user[user_id]
        for task_id in consumer.unfinished:
            self.stops_showing(task_id, consumer)

    def shows(self, task_id, consumer):
        self.showing.setdefault(task_id, weakref.WeakSet()).add(consumer)

    def stops_showing(self, task_id, consumer):
        sockets = self.showing.get(task_id)
        if sockets is not None:
            sockets.discard(consumer)
            if not sockets:
                del self.showing[task_id]

    async def _run(self):
        seen = {}  # what the last look at Redis found
        async with redis_clients.async_client(timeout=CHECK_INTERVAL) as client:
            while self.consumers:
                reason = await _why_messages_were_lost(client, seen)
                if reason:
                    await self._renew_all(reason)
                await self._catch_up()
                await self._catch_up_events()
                await asyncio.sleep(CHECK_INTERVAL)

    async def _renew_all(self, reason):
        logger.warning("%s: renewing %d websocket(s)", reason, len(self.consumers))
        consumers = list(self.consumers)
        for consumer in consumers:
            self.discard(consumer)  # closing: its snapshot on reconnect replaces any catch-up
        await renew(consumers)

    async def _catch_up(self):
        for task_id in [task_id for task_id, sockets in self.showing.items() if not sockets]:
            del self.showing[task_id]  # its sockets were collected without a disconnect
        shown = set(self.showing)
        if not shown:
            return
        try:
            states = await database_sync_to_async(_states_of)(shown)
        except DatabaseError as error:
            logger.warning("could not read unfinished tasks (%s); trying again", error)
            return
        settled = timezone.now() - timedelta(seconds=CHECK_INTERVAL)
        ended = [
            state
            for state in states
            if state["status"] not in Task.ACTIVE_STATUSES
            and datetime.fromisoformat(state["updated_at"]) < settled
        ]
        gone = shown - {state["id"] for state in states}  # deleted rows: nothing left to show
        for task_id in gone:
            for consumer in list(self.showing.pop(task_id, ())):
                consumer.unfinished.discard(task_id)
        for state in ended:
            rendered = {}
            for consumer in list(self.showing.get(state["id"], ())):
                try:
                    await consumer.send_state(state, rendered)
                except Exception:
                    logger.exception("could not send a missed final state")

    async def _catch_up_events(self):
        for user_id in [user_id for user_id, sockets in self.by_user.items() if not sockets]:
            del self.by_user[user_id]  # its sockets were collected without a disconnect
        if not self.by_user or not notifications.sources():
            return
        started, now = time.monotonic(), timezone.now()
        try:
            changed = await database_sync_to_async(notifications.changed_events)(
                frozenset(self.by_user), self.events_looked_at - CATCH_UP_MARGIN
            )
        except DatabaseError as error:
            logger.warning("could not read the event sources (%s); trying again", error)
            return
        self.events_looked_at = now
        for user_id, events in changed.items():
            for consumer in list(self.by_user.get(user_id, ())):
                # An event sent during the read may be newer than what was read.
                if consumer.event_sent_at > started:
                    continue
                for event in events:
                    if consumer.shown_events.get(event["type"]) != event:
                        try:
                            await consumer.send_event(event)
                        except Exception:
                            logger.exception("could not send a missed event")


def _states_of(task_ids):
    return [task_state(task) for task in Task.objects.filter(pk__in=task_ids)]


def subscriber_name():
    """The Redis client name of this process's (this event loop's) task subscription
    (usertasks.consumers._inbox), by which the watch tells when it was broken."""
    return f"microblog-tasks-{os.getpid()}-{id(asyncio.get_running_loop()):x}"


async def _why_messages_were_lost(client, seen):
    """Why the sockets may have missed messages since the last look (``seen``, updated), or
    None: Redis refused the connection, restarted (another ``run_id``), or the subscription's
    connection is not the one it was (the layer reconnected, quietly). An answer that did not
    come in time (Redis or this process too busy) is not taken for an outage."""
    try:
        run_id = (await client.info("server"))["run_id"]
        subscribers = await client.client_list(_type="pubsub")
    except RedisTimeoutError:
        return None
    except (RedisError, OSError):
        seen.clear()
        return "Redis is unreachable"
    name = subscriber_name()
    subscription = next((entry["id"] for entry in subscribers if entry["name"] == name), None)
    restarted = seen.get("run_id", run_id) != run_id
    broken = seen.get("subscription") not in (None, subscription)
    seen.update(run_id=run_id, subscription=subscription)
    if restarted:
        return "Redis restarted"
    if broken:
        return "the task subscription was broken"
    return None


_watches = weakref.WeakKeyDictionary()  # one per event loop (daphne has one; tests have many)


def _watch():
    loop = asyncio.get_running_loop()
    if loop not in _watches:
        _watches[loop] = _Watch()
    return _watches[loop]
