"""The one vocabulary of why a task failed or what its owner should know (SPEC §6).

Task rows store a code from here and its parameters, never a sentence; the page, the websocket,
/status and the admin render it in the reader's language. A task kind may phrase a code its own
way (exports/kinds.py); the texts here are what every kind says otherwise.
"""

from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Why a task failed.
WORKER_LOST = "worker_lost"  # killed, out of memory, its Redis job lost: the job never reported
INTERNAL_ERROR = "internal_error"  # a bug or a dependency failed; the traceback is in the log
TIMEOUT = "timeout"
DISK_FULL = "disk_full"
QUEUE_FAILED = "queue_failed"  # Redis refused the job: it never ran
# Why an archive cannot be imported (imports/archive.py). ``index`` counts posts from 0, as in
# the file's "posts" array; ``value`` is the start of the offending timestamp.
ARCHIVE_NOT_JSON = "archive_not_json"
ARCHIVE_TRUNCATED = "archive_truncated"
ARCHIVE_WRONG_SHAPE = "archive_wrong_shape"
ARCHIVE_OVERSIZED_VALUE = "archive_oversized_value"  # a string or number no archive holds
POST_WRONG_SHAPE = "post_wrong_shape"
POST_BODY_EMPTY = "post_body_empty"
POST_BODY_TOO_LONG = "post_body_too_long"
POST_BODY_NUL = "post_body_nul"
POST_BAD_TIMESTAMP = "post_bad_timestamp"
POST_FUTURE_TIMESTAMP = "post_future_timestamp"
# What the owner of a task that did not fail should know.
CANCELLED = "cancelled"
CANCELLED_BY_STAFF = "cancelled_by_staff"
EMAIL_FAILED = "email_failed"
IMPORTED = "imported"  # {"imported": n, "skipped": m}
# Rows written before codes existed keep their sentence as {"text": ...} (migration 0003).
LEGACY = "legacy"

TEXTS: Mapping[str, Promise] = {
    WORKER_LOST: _("The worker stopped unexpectedly — please try again."),
    INTERNAL_ERROR: _("The task failed because of an internal error — please try again."),
    TIMEOUT: _("The task took too long and was stopped — please try again later."),
    # Retrying at once would meet the same full disk: the reason says to wait.
    DISK_FULL: _("The server has no room for this task right now. Please try again in an hour."),
    QUEUE_FAILED: _("The task could not be queued — please try again in a moment."),
    CANCELLED: _("Cancelled at your request."),
    CANCELLED_BY_STAFF: _("Cancelled by the site's staff."),
    EMAIL_FAILED: _("The task finished, but the e-mail could not be sent."),
    ARCHIVE_NOT_JSON: _("The file is not a JSON archive of posts."),
    ARCHIVE_TRUNCATED: _("The file ends too early: the archive is truncated."),
    ARCHIVE_WRONG_SHAPE: _(
        'The file is JSON but not an archive of posts: it must be {"posts": [...]}.'
    ),
    ARCHIVE_OVERSIZED_VALUE: _(
        "The file holds a value far longer than any post: it is not an archive of posts."
    ),
    POST_WRONG_SHAPE: _(
        'Post %(index)d is not an object with a text "body" and a text "timestamp".'
    ),
    POST_BODY_EMPTY: _("Post %(index)d has an empty body."),
    POST_BODY_TOO_LONG: _(
        "Post %(index)d has %(length)d characters; posts are limited to %(limit)d."
    ),
    POST_BODY_NUL: _("Post %(index)d contains a NUL character, which posts cannot hold."),
    POST_BAD_TIMESTAMP: _('Post %(index)d has a timestamp that is not ISO 8601: "%(value)s".'),
    POST_FUTURE_TIMESTAMP: _('Post %(index)d has a timestamp in the future: "%(value)s".'),
    IMPORTED: _("Imported %(imported)d posts; skipped %(skipped)d already present."),
}


def render(code: str, params: Mapping[str, Any] | None = None, *, texts=None) -> str:
    """``code`` in the active language; ``texts`` (a kind's own phrasings) win over TEXTS.
    An unknown code renders as itself rather than breaking a page."""
    params = params or {}
    if not code:
        return ""
    template = (texts or {}).get(code) or TEXTS.get(code)
    if template is None:
        return str(params.get("text", code))
    return str(template) % params if params else str(template)
