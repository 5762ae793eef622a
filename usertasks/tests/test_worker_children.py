"""A worker SIGKILLed on its own (not its process group) takes its children with it.

Its scheduler used to live on, holding the worker's socket blocked in BRPOP on the queue, so
Redis handed the next export to a read nobody would ever finish: the export was lost.
"""

import signal
from pathlib import Path

import psutil
import pytest

from exports.services import export_launch
from testkit import processes
from testkit.waiting import wait_until
from usertasks.models import Task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]


def children(pid):
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def gone(pid):
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_killed_worker_leaves_no_scheduler_behind_to_swallow_the_next_export(
    user, redis_client, media_root, smtp_server, tmp_path
):
    env = {"MEDIA_ROOT": media_root, **smtp_server.env()}
    doomed = processes.start_worker(tmp_path / "doomed.log", "--with-scheduler", **env)
    scheduler = wait_until(lambda: children(doomed.pid), 30)[0]

    doomed.popen.send_signal(signal.SIGKILL)  # the worker alone, as `kill -9 PID` does
    doomed.popen.wait()
    doomed.stop()  # (only closes its log: the process is gone)
    try:
        wait_until(lambda: gone(scheduler), 30)
    finally:
        if not gone(scheduler):
            psutil.Process(scheduler).kill()

    with processes.running_worker(tmp_path / "successor.log", **env) as successor:
        wait_until(lambda: "Listening on" in successor.output(), 30)
        task = export_launch(user=user)
        wait_until(lambda: not Task.objects.get(pk=task.pk).is_active, 60)
    assert Task.objects.get(pk=task.pk).status == Task.Status.SUCCEEDED
