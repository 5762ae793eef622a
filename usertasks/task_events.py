"""Tasks as an event source of the notification stream: their ``/notifications/`` entries.

The websocket part of tasks (snapshot, live states, the watch's catch-up) is the consumer's own.
"""

from datetime import UTC, datetime

from django.db.models import Q

from usertasks.models import Task
from usertasks.notifications import EventSource


class TaskEvents(EventSource):
    type = "task"

    def notifications(self, user, since: float) -> list[dict]:
        """The Flask microblog's ``task_progress``: each active task changed after ``since``."""
        moment = datetime.fromtimestamp(since, UTC)
        tasks = (
            Task.objects.of(user)
            .active()
            .filter(Q(updated_at__gt=moment) | Q(updated_at=None, created_at__gt=moment))
            .order_by("created_at")
        )
        return [
            {
                "name": "task_progress",
                "data": {"task_id": task.pk, "progress": task.progress},
                "timestamp": (task.updated_at or task.created_at).timestamp(),
            }
            for task in tasks
        ]
