"""The worker class `manage.py rqworker` runs: exports' ReconcilingWorker, plus a local heartbeat.

Each heartbeat also touches a file in this machine's (or container's) temporary directory, named
after the worker's pid, so a health probe running beside it can tell its own worker is alive
and not frozen without asking Redis, which holds every worker's beat (microblog/probe.py).
"""

import os

from exports.workers import ReconcilingWorker
from microblog.probe import heartbeat_file


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
