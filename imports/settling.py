"""Clean-up hooks of the import_posts kind, run by the worker's reconciliation.

After a job, however it ended (usertasks/reconciliation.py calls ``clean_up_import``), and on
every maintenance pass (``sweep_imports``): an import that did not succeed keeps none of its
posts, and no upload outlives its task.
"""

from imports import publishing, uploads
from imports.models import ImportRun
from usertasks.models import Task


def clean_up_import(task: Task) -> None:
    """``task`` is over and its job gone: delete its upload; undo its posts unless it succeeded."""
    uploads.discard(task.pk)
    if task.status != Task.Status.SUCCEEDED:
        publishing.undo(task.pk)
    ImportRun.objects.filter(pk=task.pk).delete()


def sweep_imports() -> None:
    """Finish what killed workers left: provisional posts of failed imports, stale uploads."""
    runs = list(ImportRun.objects.values_list("task_id", flat=True))
    over = Task.objects.filter(pk__in=runs).exclude(status__in=Task.ACTIVE_STATUSES)
    for task in over:
        clean_up_import(task)
    known = set(Task.objects.filter(pk__in=runs).values_list("pk", flat=True))
    for task_id in set(runs) - known:  # its task was deleted (with its user, say)
        publishing.undo(task_id)
        ImportRun.objects.filter(pk=task_id).delete()
    uploads.sweep_orphan_uploads()
