"""Figures read from Redis at each scrape: RQ's queues and workers, memory, e-mail failures."""

from django.conf import settings
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

import redis_clients
from ops import clock
from ops.mail import EMAIL_FAILURES_KEY
from ops.metrics import register_source
from ops.redis_memory import redis_memory
from redis_clients import topology as redis_topology

RQ_STATES = ("queued", "started", "abandoned", "failed", "finished", "scheduled", "deferred")


def queue_families():
    """RQ's queues, registries and live workers, Redis's memory, and failed e-mails."""
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


register_source("redis", queue_families)
register_source("redis_topology", redis_topology.metric_families)
