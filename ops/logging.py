"""Structured logs: one JSON object per line, tagged with the request, user or task they concern.

``RequestIdMiddleware`` and ``task_context`` set context variables; ``ContextFilter`` (on the
console handler, see settings.LOGGING) copies them onto every record, so any logger in any
library gets them without passing ``extra=``; ``JSONFormatter`` writes the line.
"""

import contextlib
import contextvars
import functools
import json
import logging
from datetime import UTC, datetime

from django.utils.functional import empty

CONTEXT_FIELDS = ("request_id", "user_id", "task_id")

request_id_var = contextvars.ContextVar("request_id", default=None)
user_id_var = contextvars.ContextVar("user_id", default=None)
task_id_var = contextvars.ContextVar("task_id", default=None)
# The request being served, so the filter can name its user once authentication has run,
# without ever triggering the session and user queries itself.
request_var = contextvars.ContextVar("request", default=None)


@contextlib.contextmanager
def task_context(task_id):
    """Tag every log record emitted inside the block with ``task_id``."""
    token = task_id_var.set(str(task_id))
    try:
        yield
    finally:
        task_id_var.reset(token)


def logs_task(job):
    """Decorates an RQ job ``job(task_id, ...)`` so that its log records carry the task id."""

    @functools.wraps(job)
    def wrapper(task_id, *args, **kwargs):
        with task_context(task_id):
            return job(task_id, *args, **kwargs)

    return wrapper


def _user_id_of(request):
    """The pk of an already-authenticated request's user, or None; never queries."""
    user = getattr(request, "user", None)
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)  # request.user is a lazy object
    if wrapped is empty or not getattr(wrapped, "is_authenticated", False):
        return None
    return wrapped.pk


class ContextFilter(logging.Filter):
    """Adds request_id, user_id and task_id (None when unknown) to every record."""

    def filter(self, record):
        # django.request logs a 4xx/5xx response after the middleware has returned; it passes
        # the request in ``extra``, which carries the id the middleware gave it.
        request = getattr(record, "request", None) or request_var.get()
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get() or getattr(request, "request_id", None)
        if getattr(record, "user_id", None) is None:
            record.user_id = user_id_var.get()
            if record.user_id is None and request is not None:
                record.user_id = _user_id_of(request)
        if getattr(record, "task_id", None) is None:
            record.task_id = task_id_var.get()
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the known context ids.

    A traceback stays inside the line (in ``exc_info``), so log collectors never split it.
    """

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="microseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in CONTEXT_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
