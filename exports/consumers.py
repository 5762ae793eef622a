"""TaskConsumer: live state of the connected user's own tasks (SPEC §6)."""

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from redis.exceptions import RedisError

from exports.progress import user_group_name
from exports.selectors import current_tasks

logger = logging.getLogger(__name__)
UNAUTHENTICATED = 4401
LAYER_UNAVAILABLE = 1011


class TaskConsumer(AsyncJsonWebsocketConsumer):
    """Authenticates, joins the user's group, sends a snapshot, then forwards updates.

    Clients have nothing to say: whatever they send is ignored, so no message can name another
    user's group or task.
    """

    group = None

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        # Join before reading the snapshot, so no update falls between the two.
        try:
            await self.channel_layer.group_add(user_group_name(user.pk), self.channel_name)
        except (RedisError, OSError) as error:
            logger.warning("refusing a websocket: the channel layer is unreachable (%s)", error)
            await self.close(code=LAYER_UNAVAILABLE)
            return
        self.group = user_group_name(user.pk)
        await self.accept()
        tasks = await database_sync_to_async(_snapshot)(user)
        for task in tasks:
            await self.send_json({"type": "task", "task": task})
        await self.send_json({"type": "snapshot", "task_ids": [task["id"] for task in tasks]})

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """Ignore everything clients send."""

    async def task_update(self, event):
        await self.send_json({"type": "task", "task": event["task"]})


def _snapshot(user):
    return [task.as_message() for task in current_tasks(user)]
