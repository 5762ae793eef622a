"""Exports in /metrics (ops/metrics): durations and sizes of the exports that succeeded."""

from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from usertasks.models import Task

EXPORT_DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
EXPORT_POSTS_BUCKETS = (10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)


def export_histograms():
    """Durations and sizes of the exports that succeeded, from their Task rows."""
    exports = Task.objects.filter(
        kind="export_posts", status=Task.Status.SUCCEEDED, started_at__isnull=False
    ).annotate(
        took=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    )
    aggregates = {
        f"d{i}": Count("pk", filter=Q(took__lte=timedelta(seconds=bound)))
        for i, bound in enumerate(EXPORT_DURATION_BUCKETS)
    }
    aggregates.update(
        {
            f"p{i}": Count("pk", filter=Q(done__lte=bound))
            for i, bound in enumerate(EXPORT_POSTS_BUCKETS)
        }
    )
    row = exports.order_by().aggregate(
        n=Count("pk"), seconds=Sum("took"), posts=Sum("done"), **aggregates
    )
    count = row["n"]
    duration = HistogramMetricFamily(
        "microblog_export_duration_seconds",
        "Time from start to success of the exports that succeeded.",
    )
    duration.add_metric(
        [],
        [(floatToGoString(b), row[f"d{i}"]) for i, b in enumerate(EXPORT_DURATION_BUCKETS)]
        + [("+Inf", count)],
        (row["seconds"] or timedelta()).total_seconds(),
    )
    posts = HistogramMetricFamily(
        "microblog_export_posts", "Posts per export, for the exports that succeeded."
    )
    posts.add_metric(
        [],
        [(floatToGoString(b), row[f"p{i}"]) for i, b in enumerate(EXPORT_POSTS_BUCKETS)]
        + [("+Inf", count)],
        row["posts"] or 0,
    )
    yield duration
    yield posts
