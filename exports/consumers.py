"""TaskConsumer: live state of the connected user's own tasks (SPEC §6)."""

import asyncio
import contextlib
import logging
import weakref

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import channel_layers
from channels.utils import await_many_dispatch
from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from redis.exceptions import RedisError

from exports.payloads import task_message, task_state
from exports.progress import user_group_name
from exports.selectors import recent_tasks
from exports.socket_watch import WatchedTaskSocket, renew

logger = logging.getLogger(__name__)


class TaskConsumer(WatchedTaskSocket, AsyncJsonWebsocketConsumer):
    """Authenticates, joins the user's group, sends a snapshot, then forwards updates, each
    rendered in the language of the page that opened the connection.

    Clients have nothing to say: whatever they send is ignored, so no message can name another
    user's group or task. A refused connection is closed before it is accepted: the browser
    sees a failed handshake (HTTP 403), never a close code, and reconnects with backoff.
    """

    group = None
    language = settings.LANGUAGE_CODE

    async def __call__(self, scope, receive, send):
        """AsyncConsumer.__call__, with the process's inbox instead of a channel per socket.

        Channels gives each consumer a channel of its own and a ``receive`` on it; with
        thousands of sockets in one process, channels-redis serialises those receives on one
        asyncio.Lock whose waiters (one per socket) are removed from a deque one by one, so
        each delivered message cost O(sockets) and a burst queued up for hundreds of ms. Here
        the process's ``_Inbox`` receives once and hands each message to its group's sockets.
        """
        self.scope = scope
        self.messages = asyncio.Queue()
        self.base_send = send
        with contextlib.suppress(StopConsumer):
            await await_many_dispatch([receive, self.messages.get], self.dispatch)

    async def dispatch(self, message):
        if message["type"] == "task.update":
            # A state from the inbox needs no database: skip Channels' close_old_connections,
            # a hop to the one database thread for every message of every socket.
            await self.task_update(message)
        else:
            await super().dispatch(message)

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        # Join before reading the snapshot, so no update falls between the two.
        try:
            await _inbox(self.channel_layer_alias).join(user_group_name(user.pk), self)
        except (RedisError, OSError) as error:
            logger.warning("refusing a websocket: the channel layer is unreachable (%s)", error)
            await self.close()
            return
        self.group = user_group_name(user.pk)
        self.language = language_of(self.scope)
        await self.accept()
        states = await database_sync_to_async(_snapshot)(user)
        for state in states:
            await self.send_state(state)
        await self.send_json({"type": "snapshot", "task_ids": [state["id"] for state in states]})

    async def disconnect(self, code):
        if self.group:
            try:
                await _inbox(self.channel_layer_alias).leave(self.group, self)
            except (RedisError, OSError) as error:
                # The membership expires with the channel layer's group_expiry.
                logger.warning("could not leave group %s (%s)", self.group, error)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """Ignore everything clients send."""

    async def task_update(self, event):
        # The inbox hands one message to all of a user's sockets in this process (tabs): it is
        # rendered once per language, not once per socket.
        await self.send_state(event["state"], event.setdefault("rendered", {}))

    def render(self, state):
        with translation.override(self.language):
            return task_message(state)


class _Inbox:
    """One channel per web process (and event loop) for all its task sockets.

    The process joins a user's group while it holds at least one socket of that user, and
    hands each group message to those sockets' queues, in order. Messages name their group
    (exports.progress.publish). Joins and leaves of one group are applied to Redis in the
    order they were asked, so a leave cannot overtake a later join.
    """

    # Membership changes in flight at once: a burst of connects or disconnects (every socket
    # after a Redis restart, a load balancer draining) waits here instead of exhausting the
    # channel layer's connection pool ("Too many connections" refused sockets).
    CONCURRENT_CHANGES = 64

    def __init__(self, layer):
        self.layer = layer
        self.channel = None
        self.members = {}  # group -> WeakSet of consumers (a crashed consumer must not stay)
        self.pending = {}  # group -> the last membership change asked of Redis
        self.changes = asyncio.Semaphore(self.CONCURRENT_CHANGES)
        self.receiving = None

    async def join(self, group, consumer):
        if self.channel is None:
            channel = await self.layer.new_channel()
            self.channel = self.channel or channel
        self.members.setdefault(group, weakref.WeakSet()).add(consumer)
        if self.receiving is None or self.receiving.done():
            self.receiving = asyncio.ensure_future(self._receive())
        try:
            # Every join renews the membership's expiry, as a socket's own group_add did.
            await self._in_order(group, self.layer.group_add)
        except BaseException:
            await self.leave(group, consumer, quiet=True)
            raise

    async def leave(self, group, consumer, quiet=False):
        sockets = self.members.get(group)
        if sockets is None:
            return
        sockets.discard(consumer)
        if sockets:
            return
        del self.members[group]
        if not self.members and self.receiving is not None:
            self.receiving.cancel()  # no socket left on this loop (tests run many loops)
            self.receiving = None  # a join from now on starts a new one
        try:
            await self._in_order(group, self.layer.group_discard)
        except (RedisError, OSError):
            if not quiet:
                raise

    async def _in_order(self, group, change):
        previous = self.pending.get(group)
        mine = asyncio.get_running_loop().create_future()
        self.pending[group] = mine
        try:
            if previous is not None:
                await asyncio.wait([previous])  # never raises; cancelling us spares it
            async with self.changes:
                await change(group, self.channel)
        finally:
            mine.set_result(None)
            if self.pending.get(group) is mine:
                del self.pending[group]

    async def _receive(self):
        while self.members:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the inbox must outlive any failure
                # Redis is down or restarting: this process hears nothing for its sockets, and
                # their memberships may be gone with Redis's data. Close them, so pages say they
                # are reconnecting and come back with a fresh snapshot once Redis answers; keep
                # the inbox for those that do, without spinning.
                logger.warning("task inbox: could not receive (%s); renewing its sockets", error)
                await renew([c for sockets in self.members.values() for c in list(sockets)])
                await asyncio.sleep(1)
                continue
            group = message.get("group")
            sockets = self.members.get(group)
            if sockets is not None and not sockets:
                del self.members[group]  # its consumers crashed without a disconnect
            for consumer in list(sockets or ()):
                consumer.messages.put_nowait(message)


_inboxes = weakref.WeakKeyDictionary()  # one per event loop (daphne has one; tests have many)


def _inbox(alias):
    """This event loop's inbox, on a channel layer instance of its own.

    channels-redis keeps one receive lock per layer instance, bound to the loop that first
    receives; an inbox whose loop ended mid-receive (a test's loop, closed with its sockets
    open) would leave that lock to break every later loop's receive. Its own instance dies
    with its loop instead.
    """
    loop = asyncio.get_running_loop()
    if loop not in _inboxes:
        _inboxes[loop] = _Inbox(channel_layers.make_backend(alias))
    return _inboxes[loop]


def language_of(scope) -> str:
    """The language Django's LocaleMiddleware chose for the page: its cookie, else the
    browser's Accept-Language."""
    request = HttpRequest()
    request.COOKIES = scope.get("cookies", {})
    for name, value in scope.get("headers", []):
        if name == b"accept-language":
            request.META["HTTP_ACCEPT_LANGUAGE"] = value.decode("latin-1")
    return translation.get_language_from_request(request)


def _snapshot(user):
    # Every recent task, dismissed and superseded ones included: the page keeps one card per
    # kind and none for a dismissed task (tasks.js), but it must never miss a final state.
    return [task_state(task) for task in recent_tasks(user)]
