"""The RQ worker class `manage.py rqworker` uses (settings.RQ["WORKER_CLASS"]).

RQ alone notices a dead worker's job only after ~7 minutes (heartbeat TTL, then a maintenance
pass every 10 minutes). This worker beats every few seconds, runs maintenance every
RQ_MAINTENANCE_INTERVAL seconds, and each maintenance pass (and its start) also reconciles
active Task rows with RQ and purges expired export files.
"""

import logging

from django.conf import settings
from rq.worker import Worker

from exports.services import purge_expired_exports, reconcile_active_tasks

logger = logging.getLogger(__name__)
PURGE_LOCK = "microblog:exports:purge-lock"


class ReconcilingWorker(Worker):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("job_monitoring_interval", settings.RQ_JOB_MONITORING_INTERVAL)
        kwargs.setdefault("maintenance_interval", settings.RQ_MAINTENANCE_INTERVAL)
        super().__init__(*args, **kwargs)

    @property
    def dequeue_timeout(self):
        # An idle worker only runs maintenance between blocking waits on the queue, which
        # otherwise last worker_ttl - 15 s (405 s with rqworker's default --worker-ttl).
        return max(1, min(super().dequeue_timeout, self.maintenance_interval))

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        try:
            reconcile_active_tasks(connection=self.connection)
            # Retention runs at most hourly, across all workers.
            if self.connection.set(PURGE_LOCK, self.name, nx=True, ex=3600):
                purge_expired_exports()
        except Exception:  # maintenance must never kill the worker
            logger.exception("task maintenance failed")
