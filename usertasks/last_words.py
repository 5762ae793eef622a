"""A failed job's reason that the database could not take, kept on its RQ job meanwhile.

A job whose database stays away longer than it waits for it cannot record why it failed. Its
RQ job (in Redis) keeps the reason, and whoever settles the task once the database is back
(RQ's failure callback, reconciliation) writes that instead of "the worker stopped".
"""

import logging

from redis.exceptions import RedisError
from rq import get_current_job
from rq.job import Job

logger = logging.getLogger(__name__)

KEY = "error_code"


def leave(error_code: str) -> None:
    """From inside a job: the reason to record once the database is back."""
    job = get_current_job()
    if job is None:
        return
    job.meta[KEY] = error_code
    try:
        job.save_meta()
    except RedisError:
        logger.warning("job %s: could not keep its failure reason in Redis either", job.id)


def left_on(job: Job, default: str) -> str:
    return job.meta.get(KEY) or default
