"""TaskConsumer: the connected user's notification stream (docs/architecture.md, "Private
messages and notifications"): the live state of their own tasks, and the events of every
registered source (usertasks/notifications.py).
"""

import asyncio
import contextlib
import logging
import weakref

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.utils import await_many_dispatch
from channels_redis.utils import decode_hosts
from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.module_loading import import_string
from redis.exceptions import RedisError

from usertasks import notifications
from usertasks.payloads import task_message, task_state
from usertasks.progress import user_group_name
from usertasks.selectors import recent_tasks
from usertasks.socket_watch import WatchedTaskSocket, subscriber_name

logger = logging.getLogger(__name__)

TOO_MANY_SOCKETS = 4029  # close code: this user has WEBSOCKETS_PER_USER sockets here already


class TaskConsumer(WatchedTaskSocket, AsyncJsonWebsocketConsumer):
    """Authenticates, joins the user's group, sends a snapshot, then forwards updates, each
    rendered in the language of the page that opened the connection.

    Clients have nothing to say: whatever they send is ignored, so no message can name another
    user's group or task (daphne closes a socket that keeps sending:
    serverpatches/websocket_frames.py).
    A user holds at most ``WEBSOCKETS_PER_USER`` sockets in one process: one more is accepted and
    at once closed with ``TOO_MANY_SOCKETS``, which the page does not retry for a while
    (static/js/tasks.js). A refused connection is closed before it is accepted: the browser
    sees a failed handshake (HTTP 403), never a close code, and reconnects with backoff.
    """

    group = None
    language = settings.LANGUAGE_CODE

    async def __call__(self, scope, receive, send):
        """AsyncConsumer.__call__, with the process's inbox instead of a channel per socket.

        Channels gives each consumer a channel of its own and a ``receive`` on it: with
        thousands of sockets in one process, a subscription and a waiting task per socket, and
        a message decoded once per socket. Here the process's ``_Inbox`` receives once and
        hands each message to its group's sockets.
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
        elif message["type"] == notifications.EVENT:
            await self.send_event(message["event"], message)
        elif message["type"] == "websocket.receive":
            pass  # what a client says is ignored, without that hop either
        else:
            await super().dispatch(message)

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        inbox = _inbox(self.channel_layer_alias)
        if inbox.sockets_of(user_group_name(user.pk)) >= settings.WEBSOCKETS_PER_USER:
            await self.accept()  # a refused handshake carries no code; a close does
            await self.close(code=TOO_MANY_SOCKETS)
            return
        # Join before reading the snapshot, so no update falls between the two.
        try:
            await inbox.join(user_group_name(user.pk), self)
        except (RedisError, OSError) as error:
            logger.warning("refusing a websocket: the channel layer is unreachable (%s)", error)
            await self.close()
            return
        self.group = user_group_name(user.pk)
        self.language = language_of(self.scope)
        await self.accept()
        states, events = await database_sync_to_async(_snapshot)(user)
        for state in states:
            await self.send_state(state)
        for event in events:
            await self.send_event(event)
        await self.send_json({"type": "snapshot", "task_ids": [state["id"] for state in states]})

    async def disconnect(self, code):
        if self.group:
            try:
                await _inbox(self.channel_layer_alias).leave(self.group, self)
            except (RedisError, OSError) as error:
                # Redis is unreachable: the subscription comes back with the connection, and
                # its messages find no socket here to go to.
                logger.warning("could not leave group %s (%s)", self.group, error)

    async def task_update(self, event):
        # The inbox hands one message to all of a user's sockets in this process (tabs): it is
        # rendered once per language, not once per socket.
        await self.send_state(event["state"], event.setdefault("rendered", {}))

    def render(self, state):
        with translation.override(self.language):
            return task_message(state)


class _Inbox:
    """One channel per web process (and event loop) for all its task sockets.

    The process subscribes to a user's group while it holds at least one socket of that user,
    and hands each group message to those sockets' queues, in order. Messages name their group
    (usertasks.progress.publish). Joins and leaves of one group are applied to Redis in the
    order they were asked, so a leave cannot overtake a later join.

    Redis's failures reach the sockets through the watch (usertasks/socket_watch.py): the
    pub/sub layer reconnects by itself, and what it could not deliver meanwhile is lost.
    """

    def __init__(self, layer):
        self.layer = layer
        self.channel = None
        self.members = {}  # group -> WeakSet of consumers (a crashed consumer must not stay)
        self.pending = {}  # group -> the last membership change asked of Redis
        self.receiving = None

    def sockets_of(self, group):
        return len(self.members.get(group, ()))

    async def join(self, group, consumer):
        if self.channel is None:
            channel = await self.layer.new_channel()
            self.channel = self.channel or channel
        self.members.setdefault(group, weakref.WeakSet()).add(consumer)
        if self.receiving is None or self.receiving.done():
            self.receiving = asyncio.ensure_future(self._receive(self.channel))
        try:
            await self._in_order(group, self.layer.group_add, self.channel)
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
        channel = self.channel
        if not self.members and self.receiving is not None:
            # No socket left on this loop (tests run many loops): the layer drops a channel
            # whose receive is cancelled, so the next join starts with a new one.
            self.receiving.cancel()
            self.receiving = None
            self.channel = None
        try:
            await self._in_order(group, self.layer.group_discard, channel)
        except (RedisError, OSError):
            if not quiet:
                raise

    async def _in_order(self, group, change, channel):
        previous = self.pending.get(group)
        mine = asyncio.get_running_loop().create_future()
        self.pending[group] = mine
        try:
            if previous is not None:
                await asyncio.wait([previous])  # never raises; cancelling us spares it
            await change(group, channel)
        finally:
            mine.set_result(None)
            if self.pending.get(group) is mine:
                del self.pending[group]

    async def _receive(self, channel):
        while self.members:
            try:
                message = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad message must not silence every socket
                logger.exception("task inbox: could not read a message")
                continue
            group = message.get("group")
            sockets = self.members.get(group)
            if sockets is not None and not sockets:
                del self.members[group]  # its consumers crashed without a disconnect
            for consumer in list(sockets or ()):
                consumer.messages.put_nowait(message)


_inboxes = weakref.WeakKeyDictionary()  # one per event loop (daphne has one; tests have many)


def _inbox(alias):
    """This event loop's inbox, on a channel layer instance of its own: a job run in this
    process (tests, a management command) closes its own layer's connection when it ends, and
    must not close the inbox's subscription with it. The instance names its Redis connections
    (socket_watch.subscriber_name), so that the watch can tell when the subscription broke."""
    loop = asyncio.get_running_loop()
    if loop not in _inboxes:
        config = settings.CHANNEL_LAYERS[alias]
        options = dict(config.get("CONFIG", {}))
        name = subscriber_name()
        options["hosts"] = [
            {**host, "client_name": name} for host in decode_hosts(options.get("hosts"))
        ]
        _inboxes[loop] = _Inbox(import_string(config["BACKEND"])(**options))
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
    states = [task_state(task) for task in recent_tasks(user)]
    return states, notifications.snapshot_events(user)
