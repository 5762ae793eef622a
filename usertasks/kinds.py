"""Task kinds: a kind is a job function plus the texts people read about it.

Everything else (the Task row, its states, the progress card, cancel, the admin, the rate limit)
is shared, so a new kind is a job on usertasks/lifecycle.py and one ``register(TaskKind(...))``
from its app's ``ready()`` (or the TASK_KINDS setting): no template or JavaScript change
(docs/architecture.md, "Adding a task kind").
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.utils.functional import Promise

from usertasks import reasons


@dataclass(frozen=True)
class TaskKind:
    name: str  # stored in Task.kind
    job: str  # dotted path of the RQ job, called as job(task_id, *args)
    description: Promise  # what the task is, whatever its state, to its owner
    # The same for staff, with %(username)s for the owner, and the kind in a word (the
    # admin's filter).
    staff_description: Promise
    label: Promise
    # A card's title per status: what happened; "purged" for a success whose file is gone.
    titles: Mapping[str, Promise]
    started: Promise  # the flash message once launched
    already_active: Promise
    cancelled: Promise
    rate_limited: Promise  # ngettext_lazy on "limit", with %(time)s: when to try again
    texts: Mapping[str, Promise] = field(default_factory=dict)  # its own phrasing of reasons
    # Dotted paths of what a kind leaves behind to clean up, for the worker's reconciliation
    # (usertasks/reconciliation.py): ``cleanup(task)`` once a task is over and its job gone (a
    # killed work-horse cannot clean up after itself), ``sweep()`` on every maintenance pass
    # (a killed worker cannot either).
    cleanup: str = ""
    sweep: str = ""
    # Run once an hour across all workers (an export's retention), and how a failed task of
    # this kind starts again with fresh inputs: ``relaunch(user=...)``; none cannot be retried.
    hourly: str = ""
    relaunch: str = ""

    def described_for_staff(self, username: str) -> str:
        return str(self.staff_description) % {"username": username}

    def title(self, status: str, *, purged: bool = False) -> str:
        if purged and "purged" in self.titles:
            return str(self.titles["purged"])
        return str(self.titles.get(status, self.description))

    def text(self, code: str, params: Mapping | None = None) -> str:
        return reasons.render(code, params, texts=self.texts)


_KINDS: dict[str, TaskKind] = {}


def register(kind: TaskKind) -> TaskKind:
    _KINDS[kind.name] = kind
    return kind


def all_kinds() -> list[TaskKind]:
    return list(_KINDS.values())


def get_kind(name: str) -> TaskKind:
    """The registered kind; a row of an unknown kind (say, a benchmark's) still renders."""
    try:
        return _KINDS[name]
    except KeyError:
        return TaskKind(
            name=name,
            job="",
            description=name,
            staff_description=f"{name} (%(username)s)",
            label=name,
            titles={},
            started=name,
            already_active=name,
            cancelled=name,
            rate_limited=name,
        )
