"""The one vocabulary of why a task failed or what its owner should know.

Task rows store a code from here and its parameters, never a sentence; the page, the websocket,
/status and the admin render it in the reader's language. A task kind may phrase a code its own
way, and add codes of its own, in its ``texts`` (usertasks/kinds.py; the import's are in
imports/reasons.py); the texts here are what every kind says otherwise.
"""

import errno
from collections.abc import Mapping
from typing import Any

from django.utils import formats
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ops.database_outage import went_away

# Why a task failed.
WORKER_LOST = "worker_lost"  # killed, out of memory, its Redis job lost: the job never reported
INTERNAL_ERROR = "internal_error"  # a bug or a dependency failed; the traceback is in the log
TIMEOUT = "timeout"
DISK_FULL = "disk_full"
QUEUE_FAILED = "queue_failed"  # Redis refused the job: it never ran
DATABASE_UNAVAILABLE = "database_unavailable"  # the database went away (a restart, a failover)
# What the owner of a task that did not fail should know.
CANCELLED = "cancelled"
CANCELLED_BY_STAFF = "cancelled_by_staff"
EMAIL_FAILED = "email_failed"
# Why a succeeded task's file is gone (its download page says which).
FILE_DELETED_BY_STAFF = "file_deleted_by_staff"
FILE_EXPIRED = "file_expired"
# Rows written before codes existed keep their sentence as {"text": ...} (migration 0003).
LEGACY = "legacy"

TEXTS: Mapping[str, Promise] = {
    WORKER_LOST: _("The worker stopped unexpectedly — please try again."),
    INTERNAL_ERROR: _("The task failed because of an internal error — please try again."),
    TIMEOUT: _("The task took too long and was stopped — please try again later."),
    # Retrying at once would meet the same full disk: the reason says to wait.
    DISK_FULL: _("The server has no room for this task right now. Please try again in an hour."),
    QUEUE_FAILED: _("The task could not be queued — please try again in a moment."),
    DATABASE_UNAVAILABLE: _(
        "The database was unavailable for a moment and the task was stopped — please try again."
    ),
    CANCELLED: _("Cancelled at your request."),
    CANCELLED_BY_STAFF: _("Cancelled by the site's staff."),
    EMAIL_FAILED: _("The task finished, but the e-mail could not be sent."),
    FILE_DELETED_BY_STAFF: _("The site's staff deleted the file."),
    FILE_EXPIRED: _("The file was deleted at the end of its retention period."),
}


def of_error(error: BaseException) -> str:
    """The reason a job that raised ``error`` failed."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return DISK_FULL
    if went_away(error):
        return DATABASE_UNAVAILABLE
    return INTERNAL_ERROR


def render(code: str, params: Mapping[str, Any] | None = None, *, texts=None) -> str:
    """``code`` in the active language; ``texts`` (a kind's own phrasings) win over TEXTS.
    An unknown code renders as itself rather than breaking a page."""
    params = params or {}
    if not code:
        return ""
    template = (texts or {}).get(code) or TEXTS.get(code)
    if template is None:
        return str(params.get("text", code))
    if not params:
        return str(template)
    return str(template) % {
        name: Grouped(value) if type(value) is int else value for name, value in params.items()
    }


class Grouped(int):
    """A count that reads with the language's digit grouping where a text says ``%(n)s``
    ("100,000", "100.000"); ``%(n)d`` still prints the bare digits."""

    def __str__(self):
        return formats.number_format(int(self), force_grouping=True)
