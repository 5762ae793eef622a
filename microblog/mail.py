"""Django's e-mail backends, counting failed sends in Redis so /metrics sees every process's."""

import logging

import redis
from django.conf import settings
from django.core.mail.backends import filebased, smtp

logger = logging.getLogger(__name__)

# A counter in Redis, not in a process: the worker that failed to send may be gone by the time
# Prometheus scrapes a web process (microblog/metrics.py reads it).
EMAIL_FAILURES_KEY = "microblog:metrics:email_failures"


def record_email_failure():
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.incr(EMAIL_FAILURES_KEY)
    except redis.RedisError:
        logger.warning("could not count an e-mail failure: Redis is unreachable")
    finally:
        client.close()


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
