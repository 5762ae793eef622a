"""Account actions a web request starts and a worker finishes."""

import logging

from django.utils.translation import gettext_lazy as _
from redis.exceptions import RedisError
from rq import Retry

import redis_clients

logger = logging.getLogger(__name__)

RESET_UNAVAILABLE = _("We could not send the e-mail just now — please try again in a moment.")
# The SMTP timeout is 30 s per socket operation: room for a slow relay, never a stuck job.
RESET_JOB_TIMEOUT = 300
# A relay that is down for a while still gets the e-mail out (retries need a worker started
# with --with-scheduler, as in the Procfile and the systemd units).
RESET_RETRY = Retry(max=3, interval=[30, 120, 600])


class PasswordResetUnavailable(Exception):
    """The e-mail could not be queued; ``str()`` is the message to show."""

    def __init__(self):
        super().__init__(RESET_UNAVAILABLE)


def password_reset_request(*, email: str, domain: str, use_https: bool, language: str) -> None:
    """Queue the password-reset e-mail for ``email``, whether or not an account has it.

    The request does the same work for every address: looking the users up, making tokens,
    rendering and sending all happen in the worker (accounts.jobs.send_password_reset), so the
    response time reveals nothing and a hanging SMTP relay never holds a web thread.
    """
    try:
        redis_clients.queue("default").enqueue(
            "accounts.jobs.send_password_reset",
            kwargs={"email": email, "domain": domain, "use_https": use_https, "language": language},
            # RQ's default description is the call itself: it would log the address.
            description="password reset e-mail",
            job_timeout=RESET_JOB_TIMEOUT,
            retry=RESET_RETRY,
            result_ttl=0,
            failure_ttl=7 * 24 * 3600,
        )
    except (RedisError, OSError) as error:
        logger.warning("could not queue a password reset e-mail", exc_info=True)
        raise PasswordResetUnavailable from error
