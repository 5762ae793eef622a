"""Tasks in /metrics (ops/metrics): how many of each kind are in each state, read at scrape time."""

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from usertasks.kinds import all_kinds
from usertasks.models import Task


def task_families():
    """Tasks by kind and status, and the active ones: every registered kind has its series."""
    tasks = GaugeMetricFamily(
        "microblog_tasks", "Tasks by name and status.", labels=["name", "status"]
    )
    counts = {}
    for row in Task.objects.order_by().values("kind", "status").annotate(n=Count("pk")):
        counts[(row["kind"], row["status"])] = row["n"]
    names = sorted({name for name, _ in counts} | {kind.name for kind in all_kinds()})
    for name in names:
        for status in Task.Status.values:
            tasks.add_metric([name, status], counts.get((name, status), 0))
    yield tasks

    active = GaugeMetricFamily(
        "microblog_tasks_active", "Queued or running tasks, by name.", labels=["name"]
    )
    oldest = GaugeMetricFamily(
        "microblog_task_oldest_active_age_seconds",
        "Age of the oldest queued or running task, by name (0 when there is none).",
        labels=["name"],
    )
    now = timezone.now()
    first = dict(
        Task.objects.active()
        .order_by()
        .values("kind")
        .annotate(first=Min("created_at"))
        .values_list("kind", "first")
    )
    for name in names:
        active.add_metric(
            [name], sum(counts.get((name, status), 0) for status in Task.ACTIVE_STATUSES)
        )
        created = first.get(name)
        oldest.add_metric([name], (now - created).total_seconds() if created else 0)
    yield active
    yield oldest
