"""The task object sent over the websocket, in two steps: a language-free state that travels
through the channel layer, and the message each reader gets, rendered in their language.

The server sends everything a card needs (title, badge, status label, detail, the URLs of its
controls), so static/js/tasks.js and the templates know nothing about any task kind.
"""

from datetime import datetime
from typing import Any

from django.urls import reverse

from usertasks.kinds import get_kind
from usertasks.models import Task

BADGES = {
    Task.Status.QUEUED: "primary",
    Task.Status.RUNNING: "primary",
    Task.Status.SUCCEEDED: "success",
    Task.Status.FAILED: "danger",
    Task.Status.CANCELLED: "secondary",
}


def task_state(task: Task) -> dict[str, Any]:
    """What the row says, with codes rather than words: JSON-safe, the same for every reader."""
    return {
        "id": task.pk,
        "name": task.kind,  # the documented field of the task object; the model calls it kind
        "status": task.status,
        "progress": task.progress,
        "done": task.done,
        "total": task.total,
        "error_code": task.error_code,
        "error_params": task.error_params,
        "notice_code": task.notice_code,
        "notice_params": task.notice_params,
        "download_url": task.download_url,
        "purged": task.purged_at is not None,
        "dismissed": task.dismissed_at is not None,
        "created_at": _iso(task.created_at),
        "finished_at": _iso(task.finished_at),
        "updated_at": _iso(task.updated_at or task.created_at),
    }


def task_message(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` in the active language, with what a card shows and where its controls post."""
    kind = get_kind(state["name"])
    status = state["status"]
    active = status in Task.ACTIVE_STATUSES
    error = kind.text(state["error_code"], state["error_params"])
    notice = kind.text(state["notice_code"], state["notice_params"])
    urls = {"task_id": state["id"]}
    return {
        **state,
        "description": str(kind.description),
        "title": kind.title(status, purged=state.get("purged", False)),
        "status_label": str(Task.Status(status).label),
        "badge": BADGES[status],
        "active": active,
        # A final task's bar would stop part-way and read as progress: only a success keeps it.
        "show_progress": active or status == Task.Status.SUCCEEDED,
        "error": error,
        "notice": notice,
        "detail": error or notice,
        "cancel_url": reverse("tasks:cancel", kwargs=urls) if active else None,
        "dismiss_url": None if active else reverse("tasks:dismiss", kwargs=urls),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="microseconds") if moment else None
