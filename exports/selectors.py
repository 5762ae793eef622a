"""Reads of tasks for views, templates and the websocket consumer."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from exports.models import Task

RECENT = timedelta(minutes=10)


def tasks_for(user):
    return Task.objects.of(user).order_by("-created_at")


def active_task(user, name):
    if not user.is_authenticated:
        return None
    return Task.objects.of(user).active().filter(name=name).first()


def current_tasks(user):
    """Active tasks and those finished in the last few minutes: what the page bar shows."""
    recent = Q(finished_at__gte=timezone.now() - RECENT)
    return list(
        Task.objects.of(user)
        .filter(Q(status__in=Task.ACTIVE_STATUSES) | recent)
        .order_by("created_at")
    )


def user_task(user, task_id):
    """The user's task with this id, or None (also for another user's task)."""
    return Task.objects.of(user).filter(pk=task_id).first()
