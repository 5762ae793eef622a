"""export_posts: what the RQ worker runs. Streams, reports progress, never renders pages."""

import json
import logging
import os
from datetime import UTC

from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone
from rq.timeouts import JobTimeoutException

from blog.models import Post
from exports.emails import send_export_email
from exports.partials import create_partial
from exports.streaming import post_json_lines
from ops.logging import logs_task
from usertasks import reasons
from usertasks.lifecycle import running

logger = logging.getLogger(__name__)


class _MovableFile(File):
    """Lets FileSystemStorage move the finished file into place instead of copying it."""

    def temporary_file_path(self):
        return self.file.name


@logs_task  # every log line of the job names its task
def export_posts(task_id, expected_total=None):
    """Export the task owner's posts; ``expected_total`` (counted at launch) sizes the bar."""
    part_path = None
    try:
        with running(task_id, noun="export") as run:
            task = run.task
            total = expected_total
            if total is None:
                total = Post.objects.filter(author_id=task.user_id).count()
            run.start(total=total)
            fd, part_path = create_partial(task.pk)
            done = _write_posts(fd, task, run)
            size = part_path.stat().st_size
            stored_name = _store(task, part_path)
            part_path = None
            notice = "" if _email_sent(task, stored_name, size) else reasons.EMAIL_FAILED
            run.succeed(
                done=done, total=done, result=stored_name, result_size=size, notice_code=notice
            )
            logger.info("export %s succeeded: %d posts, %d bytes", task.pk, done, size)
    finally:
        # Whatever happened, no unfinished file stays behind to fill the disk.
        if part_path is not None:
            part_path.unlink(missing_ok=True)


def _write_posts(fd, task, run):
    """Write the export's JSON (``{"posts": [...]}``) into the open file ``fd``; returns the
    number of posts."""
    header = {"user": task.user.username, "exported_at": _utc_iso(timezone.now())}
    done = 0
    with os.fdopen(fd, "wb", buffering=1 << 20) as out:
        out.write(json.dumps(header, ensure_ascii=False)[:-1].encode() + b', "posts": [\n')
        for chunk, count in post_json_lines(task.user_id):
            out.write(chunk)
            done += count
            run.progress(done)
        if done:
            out.seek(out.tell() - 2)  # drop the last ",\n"
        out.write(b"\n]}\n")
        out.truncate()
    return done


def _store(task, path):
    name = f"exports/{task.user_id}/{task.pk}.json"
    with open(path, "rb") as handle:
        return default_storage.save(name, _MovableFile(handle, name=str(path)))


def _email_sent(task, stored_name, size):
    try:
        send_export_email(task=task, stored_name=stored_name, size=size)
        return True
    except JobTimeoutException:
        raise  # an Exception too: the broad clause below must not swallow the job's timeout
    except Exception:
        logger.exception("export %s: the e-mail could not be sent", task.pk)
        return False


def _utc_iso(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
