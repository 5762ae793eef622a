"""A worker whose clock is off takes no job and runs no maintenance until it is right again.

RQ writes a running job's registry score and heartbeats with its worker's clock, and every
worker's maintenance pass judges all of them with its own: a worker 90 s behind would have its
jobs declared abandoned by the others (they failed `worker_lost` mid-export), one 90 s ahead
would declare the others' jobs abandoned, and its own dead job would stay "running" 90 s longer.
So a worker measures its clock against Redis's at start and at every heartbeat (ops/clock.py,
read by /metrics and /healthz?deep=1), and while the offset is over CLOCK_SKEW_MAX it stays
registered and beating but dequeues nothing and cleans nothing, and says so in one log line.
"""

import logging
import time
from contextlib import suppress

from redis.exceptions import RedisError

from ops import clock

logger = logging.getLogger(__name__)

RECHECK_SECONDS = 2.0  # how often a worker standing aside looks at its clock again


class ClockWatchingWorker:
    """Mixin for an rq Worker: place it before ``rq.Worker`` in the bases."""

    clock_offset: float | None = None

    @property
    def clock_skewed(self) -> bool:
        return self.clock_offset is not None and clock.is_skewed(self.clock_offset)

    def check_clock(self) -> None:
        """Measure this host's clock against Redis's, record it, log a change of verdict."""
        was_skewed = self.clock_skewed
        offset, server = clock.measure_offset(self.connection)
        self.clock_offset = offset
        names = tuple(self.queue_names())
        clock.record(self.connection, clock.WorkerClock(self.name, names, offset, server))
        if self.clock_skewed and not was_skewed:
            from django.conf import settings

            logger.error(
                "this host's clock is %+.1f s off Redis's (more than CLOCK_SKEW_MAX, %s s): "
                "taking no jobs and running no maintenance until it is synchronised (NTP), "
                "as RQ compares heartbeats written by one host's clock with another's",
                offset,
                settings.CLOCK_SKEW_MAX,
            )
        elif was_skewed and not self.clock_skewed:
            logger.warning("this host's clock is %+.1f s off Redis's: taking jobs again", offset)

    def bootstrap(self, *args, **kwargs):
        super().bootstrap(*args, **kwargs)
        try:
            self.check_clock()  # before the first maintenance pass, which comes before any beat
        except RedisError:
            logger.warning("could not compare this host's clock with Redis's", exc_info=True)

    def heartbeat(self, timeout=None, pipeline=None):
        result = super().heartbeat(timeout, pipeline=pipeline)
        if pipeline is None:
            self.check_clock()
        return result

    def maintain_heartbeats(self, job, execution):
        super().maintain_heartbeats(job, execution)
        self.check_clock()

    @property
    def should_run_maintenance_tasks(self):
        # Its maintenance would judge every other worker's scores with a wrong clock.
        return not self.clock_skewed and super().should_run_maintenance_tasks

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        while self.clock_skewed and not self._stop_requested:
            self.procline(f"Standing aside: clock off by {self.clock_offset:+.0f} s")
            time.sleep(RECHECK_SECONDS)
            self.heartbeat()  # beats and measures again
        return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

    def teardown(self):
        if not self.is_horse:
            with suppress(RedisError):  # else the record ages out of every live count
                clock.forget(self.connection, self.name)
        super().teardown()
