"""/metrics: what operators watch, in Prometheus text format (prometheus-client).

Two kinds of figures, so that they stay right with any number of web and worker processes:

- Shared state is read from the database and Redis at scrape time (``SharedStateCollector``):
  tasks by name and status, active tasks and the oldest one's age, export durations and sizes
  (from finished Task rows), RQ queues, registries and live workers, e-mail failures (a Redis
  counter every process increments, microblog/mail.py). Every web process returns the same
  values, however many workers ran the jobs and whether they are still alive: nothing is lost
  with a process, and no multiprocess directory has to be shared between containers.
- What only a web process knows is kept in that process (``PROCESS``): its open websockets and
  the HTTP requests it served, per view. Prometheus scrapes every web process as a target of
  its own (see docker-compose.yml and deploy/prometheus/), and sums over targets.

Access: loopback clients whose request came through no proxy, or a bearer token equal to
METRICS_TOKEN; anyone else gets a 404 (403 for a wrong token), never the figures.
"""

import functools
import hmac
import ipaddress
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.utils import floatToGoString

import redis_clients
from microblog.mail import EMAIL_FAILURES_KEY
from redis_clients import topology as redis_topology

logger = logging.getLogger(__name__)

# A "_created" timestamp beside every counter and histogram: series nobody asked for.
disable_created_metrics()

PROCESS = CollectorRegistry()
ProcessCollector(registry=PROCESS)
HTTP_REQUESTS = Counter(
    "microblog_http_requests",
    "HTTP requests served by this web process, by view, method and status code.",
    ["view", "method", "status"],
    registry=PROCESS,
)
HTTP_LATENCY = Histogram(
    "microblog_http_request_duration_seconds",
    "Time this web process took to answer, by view.",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=PROCESS,
)
OPEN_WEBSOCKETS = Gauge(
    "microblog_websockets_open",
    "Websockets this web process holds open (/ws/tasks/).",
    registry=PROCESS,
)

EXPORT_DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
EXPORT_POSTS_BUCKETS = (10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)
RQ_STATES = ("queued", "started", "abandoned", "failed", "finished", "scheduled", "deferred")


class SharedStateCollector:
    """Figures shared by all processes, read from the database and Redis at each scrape."""

    def collect(self):
        up = GaugeMetricFamily(
            "microblog_metrics_source_up",
            "1 if this scrape could read the source (database, redis, redis_topology), else 0.",
            labels=["source"],
        )
        sources = (
            ("database", self._database),
            ("redis", self._redis),
            ("redis_topology", redis_topology.metric_families),
        )
        for source, collect in sources:
            try:
                families = list(collect())
            except Exception:
                logger.warning("metrics: could not read the %s", source, exc_info=True)
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            yield from families
        yield up

    def _database(self):
        from exports.models import Task  # after apps are ready

        tasks = GaugeMetricFamily(
            "microblog_tasks", "Tasks by name and status.", labels=["name", "status"]
        )
        counts = {}
        for row in Task.objects.order_by().values("name", "status").annotate(n=Count("pk")):
            counts[(row["name"], row["status"])] = row["n"]
        names = sorted({name for name, _ in counts} | {"export_posts"})
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
            .values("name")
            .annotate(first=Min("created_at"))
            .values_list("name", "first")
        )
        for name in names:
            active.add_metric(
                [name], sum(counts.get((name, status), 0) for status in Task.ACTIVE_STATUSES)
            )
            created = first.get(name)
            oldest.add_metric([name], (now - created).total_seconds() if created else 0)
        yield active
        yield oldest

        yield from self._export_histograms(Task)

    def _export_histograms(self, Task):
        exports = Task.objects.filter(
            name="export_posts", status=Task.Status.SUCCEEDED, started_at__isnull=False
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

    def _redis(self):
        from exports import clock

        connection = redis_clients.client(timeout=1)
        failures = CounterMetricFamily(
            "microblog_email_failures",
            "E-mails that could not be sent, by any process (kept in Redis).",
        )
        failures.add_metric([], int(connection.get(EMAIL_FAILURES_KEY) or 0))
        yield failures
        yield from _redis_memory(connection)

        jobs = GaugeMetricFamily(
            "microblog_rq_jobs",
            "RQ jobs per queue and state; abandoned: started by a worker that stopped beating.",
            labels=["queue", "state"],
        )
        workers = GaugeMetricFamily(
            "microblog_rq_workers_live",
            f"Workers listening on the queue that beat within {settings.HEALTH_WORKER_MAX_AGE} s.",
            labels=["queue"],
        )
        skewed = GaugeMetricFamily(
            "microblog_rq_workers_clock_skewed",
            f"Live workers that take no job: their clock is over {settings.CLOCK_SKEW_MAX} s "
            "off Redis's.",
            labels=["queue"],
        )
        offsets = GaugeMetricFamily(
            "microblog_rq_worker_clock_offset_seconds",
            "Each live worker's clock minus Redis's, measured at its last beat.",
            labels=["worker"],
        )
        now = clock.redis_time(connection)
        for name in settings.RQ_QUEUES:
            queue = redis_clients.queue(name, timeout=1)
            started, abandoned = _started_and_abandoned(connection, queue.started_job_registry, now)
            # Counts without cleanup: a scrape must not move jobs between registries.
            figures = {
                "queued": queue.count,
                "started": started,
                "abandoned": abandoned,
                "failed": queue.failed_job_registry.get_job_count(cleanup=False),
                "finished": queue.finished_job_registry.get_job_count(cleanup=False),
                "scheduled": queue.scheduled_job_registry.get_job_count(cleanup=False),
                "deferred": queue.deferred_job_registry.get_job_count(cleanup=False),
            }
            for state in RQ_STATES:
                jobs.add_metric([name, state], figures[state])
            live = clock.live_workers(connection, queue=name)
            workers.add_metric([name], len(live))
            skewed.add_metric([name], sum(1 for worker in live if worker.skewed))
        for worker in clock.live_workers(connection):
            offsets.add_metric([worker.name], worker.offset)
        yield jobs
        yield workers
        yield skewed
        yield offsets


def _redis_memory(connection):
    from microblog.redis_memory import redis_memory

    memory = redis_memory(connection)
    policy = GaugeMetricFamily(
        "microblog_redis_maxmemory_policy",
        "1 for Redis's maxmemory-policy; RQ needs noeviction (any other may evict its keys).",
        labels=["policy"],
    )
    policy.add_metric([memory.policy], 1)
    used = GaugeMetricFamily("microblog_redis_memory_used_bytes", "Memory Redis uses.")
    used.add_metric([], memory.used_bytes)
    limit = GaugeMetricFamily(
        "microblog_redis_maxmemory_bytes", "Redis's maxmemory (0: no limit); writes stop there."
    )
    limit.add_metric([], memory.max_bytes)
    evicted = CounterMetricFamily("microblog_redis_evicted_keys", "Keys Redis has evicted.")
    evicted.add_metric([], memory.evicted_keys)
    yield from (policy, used, limit, evicted)


def _started_and_abandoned(connection, registry, now):
    """Jobs being run, and jobs whose worker stopped beating (the reconciler's rule: no beat
    for TASK_HEARTBEAT_GRACE s by Redis's clock). RQ itself calls them abandoned only a minute
    or more later."""
    entries = connection.zrange(registry.key, 0, -1)  # one per execution: a worker at most each
    with connection.pipeline() as pipeline:
        for entry in entries:
            pipeline.hget(f"rq:execution:{entry.decode()}", "last_heartbeat")
        beats = pipeline.execute()
    cutoff = now - settings.TASK_HEARTBEAT_GRACE
    abandoned = sum(1 for beat in beats if beat is None or float(beat) < cutoff)
    return len(entries) - abandoned, abandoned


SHARED = CollectorRegistry()
SHARED.register(SharedStateCollector())

FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def _from_loopback(request):
    """A client on this machine that came through no proxy (a proxy could be relaying anyone)."""
    if any(header in request.headers for header in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _bearer_token(authorization):
    """The credentials of an ``Authorization: Bearer <token>`` header, whatever the scheme's
    case (RFC 9110: schemes are case-insensitive); None for another scheme."""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip(" ").encode()


@never_cache
def metrics(request):
    authorization = request.headers.get("Authorization", "")
    if authorization:
        token = settings.METRICS_TOKEN
        offered = _bearer_token(authorization)
        if not token or offered is None or not hmac.compare_digest(offered, token.encode()):
            return HttpResponseForbidden()
    elif not _from_loopback(request):
        raise Http404
    body = generate_latest(PROCESS) + generate_latest(SHARED)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


# Anything else is counted as "other": a client must not be able to invent label values.
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class HttpMetricsMiddleware:
    """Counts and times each request of this process, labelled by the view that answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match:
            view = match.view_name
        elif request.path.startswith(settings.STATIC_URL):
            # WhiteNoise answers before URL resolution: most requests of a page, kept apart from
            # the requests no view answered.
            view = "<static>"
        else:
            view = "<unresolved>"
        method = request.method if request.method in KNOWN_METHODS else "other"
        latency, requests = self._series(view, method, response.status_code)
        latency.observe(time.perf_counter() - start)
        requests.inc()
        return response

    @staticmethod
    @functools.cache  # views x methods x statuses: a bounded set, kept apart from labels()' lock
    def _series(view, method, status):
        return HTTP_LATENCY.labels(view), HTTP_REQUESTS.labels(view, method, str(status))


class OpenWebsocketsMiddleware:
    """ASGI middleware: keeps OPEN_WEBSOCKETS equal to this process's accepted websockets."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        accepted = False

        async def counting_send(message):
            nonlocal accepted
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                OPEN_WEBSOCKETS.inc()
            await send(message)

        try:
            return await self.app(scope, receive, counting_send)
        finally:
            if accepted:
                OPEN_WEBSOCKETS.dec()
