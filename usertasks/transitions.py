"""The Task state machine: the one module that writes Task rows, creation included.

    (new) ──▶ queued ──▶ running ──▶ succeeded
                │           ├──────▶ failed
                │           └──────▶ cancelled
                ├──────────────────▶ failed      (never ran: queue refused, worker lost)
                └──────────────────▶ cancelled

``move`` applies one arrow as a compare-and-set, ``UPDATE … WHERE status IN (its sources)``: of
two racing writers (a cancel and the job's success, reconciliation and a late report) exactly
one wins and the other learns it lost (False). An arrow that is not in TRANSITIONS is a bug and
raises IllegalTransition. Every write is published to the owner's open pages once committed.
"""

import logging
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from ops.database_outage import wait_for_database, went_away
from usertasks import last_words
from usertasks.models import Task
from usertasks.payloads import task_state
from usertasks.progress import Broadcaster, publish

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser as User

logger = logging.getLogger(__name__)

Status = Task.Status
TRANSITIONS: dict[Status | None, frozenset[Status]] = {
    None: frozenset({Status.QUEUED}),  # creation
    Status.QUEUED: frozenset({Status.RUNNING, Status.FAILED, Status.CANCELLED}),
    Status.RUNNING: frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED}),
}
FINAL_STATUSES = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED})


class TaskNoLongerActive(Exception):
    """Raised inside a job: its task was cancelled or failed elsewhere while the job ran."""


class IllegalTransition(Exception):
    """A move the table does not allow: a bug in the caller, never a user's doing."""


def sources_of(target: Status) -> frozenset[Status]:
    return frozenset(s for s, targets in TRANSITIONS.items() if s and target in targets)


def create_task(*, task_id: str, user: "User", kind: str) -> Task:
    """Insert a queued Task (the move from nothing to ``queued``) and publish it on commit.

    Raises IntegrityError when the user already has an active task of this kind.
    """
    now = timezone.now()
    task = Task(id=task_id, kind=kind, user=user, status=Status.QUEUED, updated_at=now)
    with transaction.atomic():
        task.save(force_insert=True)
    _publish_on_commit(task)
    return task


def move(
    task: Task,
    *,
    to: Status,
    error_code: str = "",
    error_params: dict | None = None,
    notice_code: str = "",
    notice_params: dict | None = None,
    done: int | None = None,
    total: int | None = None,
    result: str | None = None,
    result_size: int | None = None,
    broadcaster: Broadcaster | None = None,
) -> bool:
    """Move ``task`` to ``to`` if its row is still in a state that may; False if it was not."""
    if to not in TRANSITIONS.get(task.status, ()):
        raise IllegalTransition(f"task {task.pk}: {task.status} → {to} is not allowed")
    now = timezone.now()
    changes = {"status": to, "updated_at": now}
    if to == Status.RUNNING and task.started_at is None:
        changes["started_at"] = now
    if to in FINAL_STATUSES:
        changes["finished_at"] = now
    if error_code:
        changes.update(error_code=error_code, error_params=error_params or {})
    if notice_code:
        changes.update(notice_code=notice_code, notice_params=notice_params or {})
    if result is not None:
        changes.update(result=result, result_size=result_size)
    _count(task, changes, done=done, total=total)
    if to == Status.SUCCEEDED:
        changes["progress"] = 100
    if not _update(task, changes, sources_of(to), final=to in FINAL_STATUSES):
        return False
    _publish_on_commit(task, broadcaster)
    return True


def record_failure(
    task: Task,
    *,
    error_code: str,
    error_params: dict | None = None,
    broadcaster: Broadcaster | None = None,
) -> bool:
    """A job's last word: move ``task`` to failed, never raising.

    If the database went away (a restart), it waits for it (DATABASE_WAIT_SECONDS) and writes
    then. If it does not come back, the reason stays on the job's RQ job (usertasks/last_words.py)
    and RQ's failure callback or the worker's reconciliation records it once it does, so the
    task cannot stay active, nor end as if its worker had died.
    """
    fail = partial(
        move,
        task,
        to=Status.FAILED,
        error_code=error_code,
        error_params=error_params,
        broadcaster=broadcaster,
    )
    try:
        return fail()
    except Exception as error:  # noqa: BLE001 - _leave_failure logs it
        if not (went_away(error) and wait_for_database()):
            return _leave_failure(task, error_code)
    try:
        return fail()
    except Exception:  # noqa: BLE001 - _leave_failure logs it
        return _leave_failure(task, error_code)


def _leave_failure(task: Task, error_code: str) -> bool:
    logger.exception("task %s: could not record its failure", task.pk)
    last_words.leave(error_code)
    return False


def report_progress(
    task: Task, *, done: int, total: int | None = None, broadcaster: Broadcaster | None = None
) -> bool:
    """Record how far an active task got (no move); False once it is no longer active.

    The job calls this at most ten times a second; while Redis is unreachable the row is still
    updated but the broadcast waits (Broadcaster), and the final state is always sent.
    """
    changes = {"updated_at": timezone.now()}
    _count(task, changes, done=done, total=total)
    if not _update(task, changes, frozenset(Task.ACTIVE_STATUSES), final=False):
        return False
    if broadcaster is None or not broadcaster.redis_unavailable():
        _publish_on_commit(task, broadcaster)
    return True


def record_purge(task: Task, *, notice_code: str, notice_params: dict | None = None) -> bool:
    """``task``'s file was deleted (by retention or by staff, which ``notice_code`` tells the
    owner): downloads answer 410 from now on."""
    now = timezone.now()
    changes = {
        "purged_at": now,
        "updated_at": now,
        "notice_code": notice_code,
        "notice_params": notice_params or {},
    }
    if not Task.objects.filter(pk=task.pk, purged_at=None).update(**changes):
        return False
    _apply(task, changes)
    _publish_on_commit(task)
    return True


def dismiss(task: Task) -> bool:
    """The owner closed a finished task's card: no page shows it again."""
    if task.status not in FINAL_STATUSES:
        raise IllegalTransition(f"task {task.pk}: an active task cannot be dismissed")
    changes = {"dismissed_at": timezone.now()}
    if not Task.objects.filter(pk=task.pk, dismissed_at=None).update(**changes):
        return False
    _apply(task, changes)
    _publish_on_commit(task)
    return True


def _count(task: Task, changes: dict[str, Any], *, done: int | None, total: int | None) -> None:
    if total is not None:
        changes["total"] = total
    if done is not None:
        changes["done"] = done
    effective_total = changes.get("total", task.total)
    if effective_total and "done" in changes:
        changes["progress"] = min(99, changes["done"] * 100 // effective_total)


def _update(task: Task, changes: dict[str, Any], sources: Iterable[str], *, final: bool) -> bool:
    row = Task.objects.filter(pk=task.pk, status__in=sources)
    try:
        updated = row.update(**changes)
    except (OperationalError, InterfaceError):
        if not final or connection.in_atomic_block:
            raise
        # A final state must land even when the database dropped this process's connection
        # (a restart, a failover, pg_terminate_backend): once more, on a new connection.
        logger.warning("database connection lost; recording task %s again", task.pk)
        connection.close()
        updated = row.update(**changes)
    if updated:
        _apply(task, changes)
    return bool(updated)


def _apply(task: Task, changes: dict[str, Any]) -> None:
    for field, value in changes.items():
        setattr(task, field, value)


def _publish_on_commit(task: Task, broadcaster: Broadcaster | None = None) -> None:
    """The owner's pages learn of a write only once it is committed, as /status would show it.
    The state is taken now: messages carry their own ``updated_at``, and pages keep the newest."""
    transaction.on_commit(partial(publish, task.user_id, task_state(task), broadcaster))
