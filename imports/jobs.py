"""import_posts: what the RQ worker runs. Reads the upload twice, writes posts in short steps.

1. Validate and count: the whole archive is read and checked before any post is written, so a
   bad archive fails with the first bad post's index and writes nothing.
2. Write: posts go in, tagged with the task id, one short transaction per batch
   (imports/publishing.py). A cancel or a failure deletes them again; the task succeeds only
   once every post is in, and only then are they kept (the ImportRun row goes).

Progress: the first pass is the first quarter of the bar (by bytes read), the second the rest
(by posts written). Whatever happens, the upload is deleted at the end.
"""

import logging
import queue
import threading
from itertools import batched

from django.utils import timezone

from imports import publishing, uploads
from imports import reasons as import_reasons
from imports.archive import ArchiveError, read_posts
from imports.models import ImportRun
from ops.logging import logs_task
from usertasks.lifecycle import running

logger = logging.getLogger(__name__)

STEPS = 1000  # Task.total while running: the bar's resolution
CHECKED = STEPS // 4  # where the first pass ends on the bar


@logs_task
def import_posts(task_id):
    run = None
    try:
        with running(task_id, noun="import", undo=_undo) as run:
            task = run.task
            run.start(total=STEPS)
            try:
                imported, count = _import(task, run)
            except ArchiveError as error:
                logger.info(
                    "import %s refused the archive: %s %s", task.pk, error.code, error.params
                )
                run.fail(error.code, error.params)
            else:
                run.succeed(
                    done=count,
                    total=count,
                    notice_code=import_reasons.IMPORTED,
                    notice_params={"imported": imported, "skipped": count - imported},
                )
                logger.info(
                    "import %s succeeded: %d imported, %d skipped",
                    task.pk,
                    imported,
                    count - imported,
                )
    finally:
        uploads.discard(task_id)
        try:
            if run is None or not run.succeeded:
                _remove_posts(task_id)
            ImportRun.objects.filter(pk=task_id).delete()
        except Exception:  # the worker's reconciliation finishes it (imports/settling.py)
            logger.exception("import %s: could not clean up yet", task_id)


def _import(task, run):
    """Both passes; returns (posts imported, posts in the archive)."""
    path = uploads.path_of(task.pk)
    now = timezone.now()
    size = max(1, path.stat().st_size)

    def progress(done):
        run.progress(min(done, STEPS - 1))

    count = 0
    for _post in read_posts(path, now=now, on_read=lambda n: progress(n * CHECKED // size)):
        count += 1
    return _write(task, path, now, count, progress), count


def _write(task, path, now, count, progress):
    """Second pass: the posts, a batch per transaction; returns how many were new."""
    ImportRun.objects.get_or_create(pk=task.pk)
    written = imported = 0
    pacer = publishing.Pacer()
    with pacer.writing():
        for batch in _batches(path, now, publishing.batch_size(), threaded=pacer.threaded):
            imported += _insert(task, batch, pacer)
            written += len(batch)
            progress(CHECKED + written * (STEPS - CHECKED) // max(1, count))
    return imported


def _batches(path, now, size, *, threaded):
    """The archive's posts in batches. ``threaded``: read by a thread of their own, so that
    reading the next batch overlaps the database server writing this one (PostgreSQL; with
    SQLite the writes run in this process and would only compete with the reading for the
    GIL). At most one batch waits: memory stays flat."""
    if not threaded:
        yield from batched(read_posts(path, now=now), size)
        return
    ready = queue.Queue(maxsize=1)
    stopped = threading.Event()

    def put(item):
        while not stopped.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read():
        try:
            batch = []
            for post in read_posts(path, now=now):
                batch.append(post)
                if len(batch) == size:
                    if not put(batch):
                        return
                    batch = []
            put(batch) and put(None)
        except Exception as error:  # noqa: BLE001 - handed to the job, which raises it
            put(error)

    reader = threading.Thread(target=read, name=f"import-reader-{size}", daemon=True)
    reader.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            if item:
                yield item
    finally:
        stopped.set()
        reader.join(timeout=5)


def _insert(task, batch, pacer):
    return publishing.insert_batch(
        task_id=task.pk, author_id=task.user_id, posts=batch, pacer=pacer
    )


def _undo(task):
    _remove_posts(task.pk)


def _remove_posts(task_id):
    removed = publishing.undo(task_id)
    if removed:
        logger.info("import %s: removed its %d posts", task_id, removed)
