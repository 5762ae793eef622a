"""Reads of tasks for views, templates and the websocket consumer."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

import keyset
from usertasks.models import Task

RECENT = timedelta(minutes=10)
TASKS_PER_PAGE = 20
TASK_KEY = keyset.Key("created_at", "pk", str)


def history_page(user, query, *, kind: str | None = None) -> keyset.Page:
    """A page of the user's tasks (of one kind if `kind` is given), newest first, leaving out
    the current tasks, which the page shows as cards. `query` is request.GET (its cursor)."""
    shown = [task.pk for task in current_tasks(user)]
    tasks = Task.objects.of(user).exclude(pk__in=shown)
    if kind is not None:
        tasks = tasks.filter(kind=kind)
    fetch = keyset.queryset_fetch(tasks, TASK_KEY)
    return keyset.page(query, fetch, size=TASKS_PER_PAGE, key=TASK_KEY)


def active_task(user, kind: str) -> Task | None:
    if not user.is_authenticated:
        return None
    return Task.objects.of(user).active().filter(kind=kind).first()


# recent_tasks' rule, in plain SQL: every page asks it (the task cards), and for most users the
# answer is nothing, which the ORM took longer to compile than the database to find.
_RECENT_IDS = (
    f"SELECT id FROM {Task._meta.db_table}"  # noqa: S608 (model tables)
    f" WHERE user_id = %s AND (status IN ({', '.join(['%s'] * len(Task.ACTIVE_STATUSES))})"
    " OR finished_at >= %s)"
)


def recent_tasks(user) -> list[Task]:
    """Active tasks and those finished in the last few minutes, oldest first: what a websocket
    snapshot carries, so a reconnecting page learns every final state it may have missed.
    One small query when there are none; the rows are read only when there are some."""
    since = connection.ops.adapt_datetimefield_value(timezone.now() - RECENT)
    with connection.cursor() as cursor:
        cursor.execute(_RECENT_IDS, [user.pk, *(s.value for s in Task.ACTIVE_STATUSES), since])
        ids = [pk for (pk,) in cursor.fetchall()]
    if not ids:
        return []
    return list(Task.objects.filter(pk__in=ids).order_by("created_at"))


def current_tasks(user) -> list[Task]:
    """The cards a page shows: per kind, the newest recent task, unless its owner dismissed
    it. An older task of the same kind no longer matters once a newer one exists (a kind has
    one active task at a time, so a newer task is itself active or recent)."""
    newest: dict[str, Task] = {}
    for task in recent_tasks(user):
        newest[task.kind] = task
    return [task for task in newest.values() if task.dismissed_at is None]


def user_task(user, task_id: str) -> Task | None:
    """The user's task with this id, or None (also for another user's task)."""
    return Task.objects.of(user).filter(pk=task_id).first()
