"""One clock for liveness: Redis's.

Hosts' clocks drift apart, and RQ scores its registries and heartbeats with the writer's clock
and judges them with the reader's: a worker whose clock is behind has its running jobs declared
abandoned by the others, one that is ahead keeps a dead job "running" for as long as it is
ahead. So:

- the project's own checks (reconciliation, ``/healthz?deep=1``, ``/metrics``) take "now"
  from Redis's ``TIME``, and a worker's liveness from the Redis time of its last beat;
- each worker measures its clock's offset from Redis's at start and at every heartbeat and
  records it here, with that Redis time; while the offset is over ``CLOCK_SKEW_MAX`` it takes
  no job and runs no maintenance (usertasks/worker_clock.py), so none of its scores is ever
  written or read with a wrong clock.
"""

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from redis import Redis

WORKER_CLOCKS = "microblog:worker-clocks"  # hash: worker name -> its last beat, as JSON
FORGET_AFTER = 3600  # seconds: records of workers that stopped beating long ago are pruned


def redis_time(connection: Redis) -> float:
    """Seconds since the epoch by Redis's clock (``TIME``: a read, answered even when full)."""
    seconds, microseconds = connection.time()
    return seconds + microseconds / 1_000_000


def redis_now(connection: Redis) -> datetime:
    return datetime.fromtimestamp(redis_time(connection), tz=UTC)


def measure_offset(connection: Redis) -> tuple[float, float]:
    """(this host's clock minus Redis's, in seconds; Redis's time), halving the round trip."""
    before = time.time()
    server = redis_time(connection)
    after = time.time()
    return (before + after) / 2 - server, server


def is_skewed(offset: float) -> bool:
    return abs(offset) > settings.CLOCK_SKEW_MAX


@dataclass(frozen=True)
class WorkerClock:
    name: str
    queues: tuple[str, ...]
    offset: float  # seconds this worker's clock is ahead of Redis's (negative: behind)
    seen: float  # Redis's time at its last beat

    @property
    def skewed(self) -> bool:
        return is_skewed(self.offset)


def record(connection: Redis, worker: WorkerClock) -> None:
    """Write one worker's beat; prune the records of workers gone for an hour."""
    entry = {"queues": list(worker.queues), "offset": worker.offset, "seen": worker.seen}
    with connection.pipeline(transaction=False) as pipeline:
        pipeline.hset(WORKER_CLOCKS, worker.name, json.dumps(entry))
        pipeline.hgetall(WORKER_CLOCKS)
        records = pipeline.execute()[1]
    gone = [
        name for name, clock in _parse(records).items() if clock.seen < worker.seen - FORGET_AFTER
    ]
    if gone:
        connection.hdel(WORKER_CLOCKS, *gone)


def forget(connection: Redis, name: str) -> None:
    connection.hdel(WORKER_CLOCKS, name)


def live_workers(connection: Redis, queue: str | None = None) -> list[WorkerClock]:
    """Workers (on ``queue``, or any) that beat within HEALTH_WORKER_MAX_AGE by Redis's clock.

    A frozen or killed worker stops beating and drops out; a worker whose clock is off counts
    as live (it is, and says why it takes no job: see ``WorkerClock.skewed``)."""
    with connection.pipeline(transaction=False) as pipeline:
        pipeline.time()
        pipeline.hgetall(WORKER_CLOCKS)
        (seconds, microseconds), records = pipeline.execute()
    cutoff = seconds + microseconds / 1_000_000 - settings.HEALTH_WORKER_MAX_AGE
    return [
        clock
        for clock in _parse(records).values()
        if clock.seen >= cutoff and (queue is None or queue in clock.queues)
    ]


def _parse(records: dict) -> dict[str, WorkerClock]:
    clocks = {}
    for raw_name, raw in records.items():
        name = raw_name.decode() if isinstance(raw_name, bytes) else raw_name
        try:
            entry = json.loads(raw)
            clocks[name] = WorkerClock(
                name=name,
                queues=tuple(entry["queues"]),
                offset=float(entry["offset"]),
                seen=float(entry["seen"]),
            )
        except (ValueError, KeyError, TypeError):  # written by another version: ignore it
            continue
    return clocks
