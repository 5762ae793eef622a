"""The RQ worker class `manage.py rqworker` uses (settings.RQ["WORKER_CLASS"]).

RQ alone notices a dead worker's job only after ~7 minutes (heartbeat TTL, then a maintenance
pass every 10 minutes). This worker beats every 5 s, runs maintenance every 15 s, and each
maintenance pass (and its start) also reconciles active Task rows with RQ.
"""

import logging

from rq.worker import Worker

from exports.services import reconcile_active_tasks

logger = logging.getLogger(__name__)


class ReconcilingWorker(Worker):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("job_monitoring_interval", 5)
        kwargs.setdefault("maintenance_interval", 15)
        kwargs.setdefault("worker_ttl", 35)  # blocks on the queue for 20 s between passes
        super().__init__(*args, **kwargs)

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        try:
            reconcile_active_tasks(connection=self.connection)
        except Exception:
            logger.exception("task reconciliation failed")
