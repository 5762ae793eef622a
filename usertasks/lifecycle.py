"""One run of a task's job, the same for every kind: what the RQ job does between its body's steps.

    def my_job(task_id, *args):
        with running(task_id) as run:
            run.start(total=n)  # queued → running
            for ...:
                run.progress(done)  # at most every EXPORT_PROGRESS_INTERVAL seconds
            run.succeed(notice_code=...)  # running → succeeded

The block ends the task however the body ends. A task cancelled (or failed by reconciliation)
meanwhile stops the job quietly: ``start``, ``progress`` and ``succeed`` raise
TaskNoLongerActive, which the block swallows. A timeout fails the task with ``timeout``, any
other error with the reason ``reasons.of_error`` gives it (``disk_full``,
``database_unavailable``, ``internal_error``), and both are raised again for RQ. A body that
refuses its input fails the task with a reason of its kind's own, ``run.fail(code, params)``,
and returns normally. Each outcome is logged as "<noun> <task id> …", and every log line of the
block carries the task id (ops.logging.task_context; a job that logs outside the block, as the
import's clean-up does, also wears ``logs_task``).
"""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from rq.timeouts import JobTimeoutException

from ops.logging import task_context
from usertasks import reasons
from usertasks.models import Task
from usertasks.progress import Broadcaster, Throttle
from usertasks.transitions import TaskNoLongerActive, move, record_failure, report_progress

logger = logging.getLogger(__name__)

__all__ = ["TaskNoLongerActive", "TaskRun", "running"]


class TaskRun:
    """The job's handle on its task, from ``running()``; also the context manager itself."""

    def __init__(
        self,
        task: Task | str,
        *,
        noun: str | None = None,
        undo: Callable[[Task], Any] | None = None,
    ):
        if not isinstance(task, Task):
            task = Task.objects.select_related("user").get(pk=task)
        self.task = task
        self.noun = noun or task.kind  # the first word of its log lines: "export 3f… failed"
        self.undo = undo
        self.succeeded = False
        self.broadcaster: Broadcaster | None = None
        self._throttle = Throttle(settings.EXPORT_PROGRESS_INTERVAL)
        self._context = task_context(task.pk)

    # -- what the body calls ------------------------------------------------------------------

    def start(self, *, total: int | None = None) -> None:
        """Move the task to running with ``total`` steps to go; stop if it is over already."""
        if not self.task.is_active or not move(
            self.task, to=Task.Status.RUNNING, done=0, total=total, broadcaster=self.broadcaster
        ):
            raise TaskNoLongerActive
        self._throttle = Throttle(settings.EXPORT_PROGRESS_INTERVAL)  # the first report: then

    def progress(self, done: int, total: int | None = None) -> None:
        """Record ``done`` steps, if the last report is old enough: reports stay under ten a
        second whatever the body's pace. A refused report means the task was cancelled: stop."""
        if self._throttle.due() and not report_progress(
            self.task, done=done, total=total, broadcaster=self.broadcaster
        ):
            raise TaskNoLongerActive

    def succeed(self, **fields: Any) -> None:
        """Move the task to succeeded with ``fields`` (``done``, ``total``, ``result``,
        ``notice_code``… as ``transitions.move`` takes them); stop if it lost a race meanwhile
        (a cancel that came first wins)."""
        if not move(self.task, to=Task.Status.SUCCEEDED, broadcaster=self.broadcaster, **fields):
            raise TaskNoLongerActive
        self.succeeded = True

    def fail(self, code: str, params: dict | None = None) -> None:
        """End the task failed for a reason of the kind's own (its ``texts`` word it): the job
        refused its input. Not an error: nothing is logged as one and RQ sees the job end."""
        record_failure(
            self.task, error_code=code, error_params=params, broadcaster=self.broadcaster
        )

    # -- the block ----------------------------------------------------------------------------

    def __enter__(self) -> "TaskRun":
        self._context.__enter__()
        self.broadcaster = Broadcaster()
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        try:
            return self._end(error)
        finally:
            self.broadcaster.close()
            self._context.__exit__(None, None, None)

    def _end(self, error: BaseException | None) -> bool:
        """What the block does with how its body ended; True swallows ``error``."""
        task = self.task
        if error is None:
            return False
        if isinstance(error, TaskNoLongerActive):
            logger.info("%s %s stopped: the task is no longer active", self.noun, task.pk)
            return True
        if isinstance(error, JobTimeoutException):
            logger.warning("%s %s hit its timeout", self.noun, task.pk)
            code = reasons.TIMEOUT
        elif isinstance(error, Exception):
            logger.exception("%s %s failed", self.noun, task.pk, exc_info=error)
            code = reasons.of_error(error)
        else:  # SystemExit, KeyboardInterrupt: the work-horse is going; reconciliation settles
            return False
        self._undo()
        record_failure(task, error_code=code, broadcaster=self.broadcaster)
        return False

    def _undo(self) -> None:
        """The kind's undo of what the body wrote, before the owner reads "failed"."""
        if self.undo is None:
            return
        try:
            self.undo(self.task)
        except Exception:  # the kind's clean-up hook finishes it (usertasks/kinds.py)
            logger.exception("%s %s: could not undo its work yet", self.noun, self.task.pk)


def running(
    task: Task | str, *, noun: str | None = None, undo: Callable[[Task], Any] | None = None
) -> TaskRun:
    """The lifecycle of one run of ``task`` (a Task, or its id): ``with running(task_id) as run``.

    ``noun`` names the job in log lines (the kind's name by default). ``undo(task)``, if given,
    removes what the body wrote, before a timeout or an error is recorded as the task's failure.
    """
    return TaskRun(task, noun=noun, undo=undo)
