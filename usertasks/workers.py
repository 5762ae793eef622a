"""The RQ worker class `manage.py rqworker` uses (settings.RQ["WORKER_CLASS"]).

RQ alone notices a dead worker's job only after ~7 minutes (heartbeat TTL, then a maintenance
pass every 10 minutes). This worker beats every few seconds, runs maintenance every
RQ_MAINTENANCE_INTERVAL seconds, and each maintenance pass (and its start) also reconciles
active Task rows with RQ and runs the task kinds' clean-up hooks (usertasks/kinds.py).

It also survives what real operation does to it:
- Database connections never cross a fork: the worker closes its own before forking a
  work-horse and after each maintenance pass, so a connection the server dropped (a restart,
  a failover, an idle timeout) is replaced, and no two processes ever share one.
- Redis may go away at any moment, for any length of time. RQ retries only its blocking
  dequeue; a failed heartbeat, state update or registry clean-up would end the worker. Here
  they are logged and retried on the next beat, the running export goes on, and the worker
  re-registers itself once Redis is back. A worker started while Redis is down waits for it
  instead of exiting. A Redis that refuses writes because it is full (``maxmemory`` under
  ``noeviction``) is ridden out the same way, and no maintenance runs until it has taken writes
  again for TASK_HEARTBEAT_GRACE seconds: no beat could be recorded meanwhile, so every running
  job would look abandoned.
- A worker whose clock is off takes no job (usertasks/worker_clock.py).
- When a job ends, however it ended, its Task is settled and its kind cleans up after it.
- Its children (work-horse, scheduler) end with it, so none is left holding its sockets.

Before it forks any, it builds what each work-horse would otherwise build again
(usertasks/preload.py).
"""

import ctypes
import functools
import gc
import logging
import os
import signal
import sys
import time

from django.conf import settings
from django.db import DatabaseError, connections
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, ReadOnlyError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.exceptions import StopRequested
from rq.worker import Worker
from rq.worker_registration import register

from ops.database_outage import wait_for_database
from ops.probe import heartbeat_file
from usertasks.preload import preload
from usertasks.reconciliation import reconcile_active_tasks, run_hourly_hooks
from usertasks.worker_clock import ClockWatchingWorker

logger = logging.getLogger(__name__)
PURGE_LOCK = "microblog:exports:purge-lock"
# Redis unreachable, refusing writes because it is full, or a demoted primary answering writes
# with READONLY until clients reconnect (a failover): the worker rides out all of them.
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OutOfMemoryError, ReadOnlyError)
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_the_worker(worker_pid):
    """In each child the worker forks (work-horse, scheduler): end when the worker ends.

    A child inherits the worker's sockets, among them the one blocked in BRPOP on the queue.
    If the worker is SIGKILLed and its scheduler lives on, Redis keeps handing the next job to
    that dead read, and the job is lost. A worker that died between the fork and the prctl
    sends no signal: the child, whose parent is then another process, ends at once.
    """
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != worker_pid:
            os.kill(os.getpid(), signal.SIGTERM)


def close_database_connections():
    """Close this process's connections, so the next query opens a healthy one of its own."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except DatabaseError:  # a broken connection may fail to close; it is dropped all the same
            logger.warning("could not close database connection %s", connection.alias)


class ReconcilingWorker(ClockWatchingWorker, Worker):
    # RQ waits up to 60 s between attempts to reach a Redis that went away; 10 s is enough
    # to spare it and brings exports back sooner.
    max_connection_wait_time = 10.0

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("job_monitoring_interval", settings.RQ_JOB_MONITORING_INTERVAL)
        kwargs.setdefault("maintenance_interval", settings.RQ_MAINTENANCE_INTERVAL)
        self._redis_lost = False
        self._writes_refused_at = None  # time.monotonic() when Redis last said it was full
        # Before RQ's constructor: it ends by waiting for Redis (_set_ip_address), and work()
        # must follow that wait at once, as RQ's start-up outside the constructor does not
        # wait for a Redis that went away meanwhile.
        preload()
        super().__init__(*args, **kwargs)
        os.register_at_fork(after_in_child=functools.partial(die_with_the_worker, os.getpid()))

    @property
    def dequeue_timeout(self):
        # An idle worker only runs maintenance between blocking waits on the queue, which
        # otherwise last worker_ttl - 15 s (405 s with rqworker's default --worker-ttl).
        return max(1, min(super().dequeue_timeout, self.maintenance_interval))

    # -- database connections and fork ------------------------------------------------------

    def fork_work_horse(self, job, queue):
        close_database_connections()
        # The horse inherits the worker's objects: frozen, its collections never walk them,
        # which would copy every page of them that the fork still shares. The worker collects
        # them as before once the horse is forked.
        gc.freeze()
        try:
            super().fork_work_horse(job, queue)
        finally:
            gc.unfreeze()

    def perform_job(self, job, queue, execution):
        """In the work-horse: start from no connection, and close what the job opened."""
        close_database_connections()
        try:
            return super().perform_job(job, queue, execution)
        finally:
            close_database_connections()

    def prepare_job_execution(self, job, remove_from_intermediate_queue=False):
        """In the work-horse, once the job is marked started (the worker keeps its heartbeat,
        so reconciliation leaves it be): a database that is restarting is waited for, rather
        than failing every job taken meanwhile."""
        super().prepare_job_execution(job, remove_from_intermediate_queue)
        wait_for_database()

    def run_maintenance_tasks(self):
        try:
            super().run_maintenance_tasks()
            reconcile_active_tasks(connection=self.connection)
            # The kinds' hourly hooks (an export's retention) run once an hour across workers.
            if self.connection.set(PURGE_LOCK, self.name, nx=True, ex=3600):
                run_hourly_hooks()
        except StopRequested:  # SIGTERM while idle: RQ stops through this exception
            raise
        except REDIS_DOWN as error:
            self._redis_unreachable("maintenance", error)
        except Exception:  # maintenance must never kill the worker
            logger.exception("task maintenance failed")
        finally:
            close_database_connections()

    # -- after each job ---------------------------------------------------------------------

    def execute_job(self, job, queue):
        try:
            super().execute_job(job, queue)
        except REDIS_DOWN:
            # The horse is gone; what RQ records about its end waits for Redis. Reconciliation
            # settles the Task then.
            logger.warning("job %s ended while Redis was unreachable", job.id, exc_info=True)
        finally:
            self._settle(job.id)

    def _settle(self, task_id):
        """A killed horse (a cancel, the OOM killer) cannot clean up after itself: its kind's
        ``cleanup`` runs here once the task is settled."""
        try:
            reconcile_active_tasks(connection=self.connection, task_ids=[task_id])
        except StopRequested:
            raise
        except Exception:
            logger.warning("could not settle task %s now; maintenance will", task_id, exc_info=True)
        finally:
            close_database_connections()

    # -- riding out Redis outages -------------------------------------------------------------

    def _set_ip_address(self, connection):
        """RQ's constructor names its Redis connection here: the first Redis call, which would
        raise, and rqworker exit, if Redis is down. Wait for it instead."""
        delay = 1.0
        while True:
            try:
                connection.ping()
                break
            except REDIS_DOWN as error:
                self._redis_unreachable("start-up", error)
                time.sleep(delay)
                delay = min(delay * 2, self.max_connection_wait_time)
        super()._set_ip_address(connection)

    def _redis_unreachable(self, what, error):
        full = isinstance(error, OutOfMemoryError)
        if full:
            self._writes_refused_at = time.monotonic()
        if not self._redis_lost:
            problem = "is full and refuses writes" if full else "is unreachable"
            logger.warning("Redis %s (%s); the worker keeps trying", problem, what)
        self._redis_lost = True

    @property
    def should_run_maintenance_tasks(self):
        refused = self._writes_refused_at
        if refused is not None and time.monotonic() - refused < settings.TASK_HEARTBEAT_GRACE:
            return False  # running jobs could record no beat: they would all look abandoned
        return super().should_run_maintenance_tasks

    def register_birth(self):
        """RQ's first write at start-up: wait for a full Redis to take it, instead of exiting."""
        delay = 1.0
        while True:
            try:
                return super().register_birth()
            except OutOfMemoryError as error:
                self._redis_unreachable("start-up", error)
                time.sleep(delay)
                delay = min(delay * 2, self.max_connection_wait_time)

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """RQ waits out an unreachable Redis here, but not one too full to move a job."""
        delay = 1.0
        while True:
            try:
                return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
            except OutOfMemoryError as error:
                self._redis_unreachable("dequeue", error)
                time.sleep(delay)
                delay = min(delay * 2, self.max_connection_wait_time)

    def _redis_back(self):
        if self._redis_lost:
            self._redis_lost = False
            logger.info("Redis is reachable again")
            try:  # Redis may have restarted empty: be listed as a live worker again
                register(self)
                self.connection.hset(self.key, mapping=self.serialize())
            except RedisError:
                self._redis_lost = True

    def heartbeat(self, timeout=None, pipeline=None):
        if pipeline is not None:
            return super().heartbeat(timeout, pipeline=pipeline)
        try:
            super().heartbeat(timeout)
        except REDIS_DOWN as error:
            self._redis_unreachable("heartbeat", error)
        else:
            self._redis_back()

    def maintain_heartbeats(self, job, execution):
        """Called while a horse runs: the export goes on whether or not Redis answers."""
        try:
            super().maintain_heartbeats(job, execution)
        except REDIS_DOWN as error:
            self._redis_unreachable("job heartbeat", error)
        else:
            self._redis_back()

    def set_state(self, state, pipeline=None):
        if pipeline is not None:
            return super().set_state(state, pipeline=pipeline)
        try:
            super().set_state(state)
        except REDIS_DOWN as error:  # the state is kept in memory and written with the next one
            self._redis_unreachable("state", error)

    def check_for_suspension(self, burst):
        try:
            super().check_for_suspension(burst)
        except REDIS_DOWN as error:
            self._redis_unreachable("suspension check", error)


class HeartbeatFileWorker(ReconcilingWorker):
    def heartbeat(self, timeout=None, pipeline=None):
        result = super().heartbeat(timeout, pipeline=pipeline)
        if not self.is_horse:  # the worker process's pid names the file, not a work-horse's
            heartbeat_file(os.getpid()).touch()
        return result

    def teardown(self):
        if not self.is_horse:
            heartbeat_file(os.getpid()).unlink(missing_ok=True)
        super().teardown()
