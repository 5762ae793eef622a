"""Django's e-mail backends, counting failed sends in Redis so /metrics sees every process's."""

import logging

import redis
from django.core.mail.backends import filebased, smtp

import redis_clients

logger = logging.getLogger(__name__)

# A counter in Redis, not in a process: the worker that failed to send may be gone by the time
# Prometheus scrapes a web process (ops/metrics.py reads it).
EMAIL_FAILURES_KEY = "microblog:metrics:email_failures"


def record_email_failure():
    try:
        redis_clients.client(timeout=1).incr(EMAIL_FAILURES_KEY)
    except redis.RedisError:
        logger.warning("could not count an e-mail failure: Redis is unreachable")


class CountsFailures:
    def send_messages(self, email_messages):
        try:
            return super().send_messages(email_messages)
        except Exception:
            record_email_failure()
            raise


class SMTPBackend(CountsFailures, smtp.EmailBackend):
    pass


class FileBackend(CountsFailures, filebased.EmailBackend):
    pass
