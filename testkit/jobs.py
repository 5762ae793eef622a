"""RQ jobs a request queued, for tests: inspect them, or run them here instead of in a worker."""

import django_rq


def queued_jobs(queue_name="default"):
    return django_rq.get_queue(queue_name).get_jobs()


def run_queued_jobs(queue_name="default"):
    """Empty the queue and run its jobs in this process (in this test's database and with its
    mail outbox), as a worker would; returns them."""
    jobs = queued_jobs(queue_name)
    django_rq.get_queue(queue_name).empty()
    for job in jobs:
        job.func(*job.args, **job.kwargs)
    return jobs
