"""A task kind that exists only for the tests (usertasks/tests/test_third_kind.py): counting to a
number, one step at a time, with a side file that says how far it got.

It is what docs/architecture.md says a new kind is, and nothing more: a job body on
usertasks.lifecycle, its texts, a clean-up of its side files on usertasks.files, and a
registration. No app registers it: a test registers it in its own process, and the servers and
workers it starts through the TASK_KINDS setting (``TASK_KINDS=testkit.counting.COUNTING``).
"""

import time
from pathlib import Path

from django.conf import settings

from usertasks import reasons
from usertasks.files import sweep_orphans
from usertasks.kinds import TaskKind
from usertasks.lifecycle import running

NUMBER_REFUSED = "number_refused"  # its own reason, with the number in %(number)s
COUNTED = "counted"

COUNTING = TaskKind(
    name="count_to",
    job="testkit.counting.count_to",
    description="Counting",
    staff_description="Counting for %(username)s",
    label="Count",
    titles={
        "queued": "Counting — waiting to start",
        "running": "Counting — in progress",
        "succeeded": "Counting — done",
        "failed": "Counting — failed",
        "cancelled": "Counting — cancelled",
    },
    started="The count has started.",
    already_active="A count is already in progress.",
    cancelled="The count was cancelled.",
    rate_limited="You can start at most %(limit)d counts per hour; try again at %(time)s.",
    texts={
        reasons.INTERNAL_ERROR: "The count broke down — please count again.",
        NUMBER_REFUSED: "The count would not say %(number)s.",
        COUNTED: "Counted to %(number)s.",
    },
    cleanup="testkit.counting.clean_up",
    sweep="testkit.counting.sweep",
)


def count_to(task_id, target, plan=None):
    """Count from 1 to ``target``, writing each number to the task's side file.

    ``plan`` (a launch passes positional arguments only): at ``hold_at`` wait until the file
    ``gate`` exists, reporting all the while (so the card shows how far it got, and a cancel is
    noticed); at ``fail_at`` break down (an error); at ``refuse`` refuse the number (the kind's
    own reason).
    """
    plan = plan or {}
    hold_at, gate = plan.get("hold_at"), plan.get("gate")
    fail_at, refuse = plan.get("fail_at"), plan.get("refuse")
    with running(task_id) as run:
        run.start(total=target)
        path = side_file(task_id)
        try:
            for number in range(1, target + 1):
                path.write_text(str(number))
                if number == fail_at:
                    raise RuntimeError(f"lost count after {number - 1}")
                if number == refuse:
                    run.fail(NUMBER_REFUSED, {"number": number})
                    return
                while number == hold_at and not Path(gate).exists():
                    run.progress(number)
                    time.sleep(0.01)
                run.progress(number)
            run.succeed(
                done=target, total=target, notice_code=COUNTED, notice_params={"number": target}
            )
        finally:
            path.unlink(missing_ok=True)


def side_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "counting"
    path.mkdir(parents=True, exist_ok=True)
    return path


def side_file(task_id) -> Path:
    return side_dir() / f"{task_id}.count"


def clean_up(task) -> None:
    """The kind's ``cleanup``: a killed work-horse leaves its side file; its worker removes it."""
    side_file(task.pk).unlink(missing_ok=True)


def sweep() -> None:
    """The kind's ``sweep``: side files whose task is over (a killed worker left them)."""
    sweep_orphans(side_dir().glob("*.count"), lambda path: path.stem)
