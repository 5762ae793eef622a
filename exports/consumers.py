"""TaskConsumer: live state of the connected user's own tasks (SPEC §6)."""

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from redis.exceptions import RedisError

from exports.payloads import task_message, task_state
from exports.progress import user_group_name
from exports.selectors import recent_tasks
from exports.socket_watch import WatchedTaskSocket

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

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        # Join before reading the snapshot, so no update falls between the two.
        try:
            await self.channel_layer.group_add(user_group_name(user.pk), self.channel_name)
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
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """Ignore everything clients send."""

    async def task_update(self, event):
        await self.send_state(event["state"])

    def render(self, state):
        with translation.override(self.language):
            return task_message(state)


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
