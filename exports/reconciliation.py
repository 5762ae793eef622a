"""Kept for one release: jobs queued before the task system had its own app name this path as
their failure callback (``rq.Callback("exports.reconciliation.on_job_failure")``), and Redis
still holds them. New jobs name usertasks.reconciliation.on_job_failure."""

from usertasks.reconciliation import on_job_failure

__all__ = ["on_job_failure"]
