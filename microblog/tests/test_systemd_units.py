"""The systemd units (deploy/systemd/), as systemd reads them and as its stop job acts on them.

PID 1 here is not systemd, so no unit is started by systemd itself:

- `systemd-analyze verify` loads each unit as this machine's systemd would, installed where this
  checkout is (docs/operations.md "Linux with systemd" puts it in /srv/microblog): every line
  must parse, and the commands must exist.
- Stopping a worker follows systemd.kill(5) on a real `manage.py rqworker` started with the
  unit's ExecStart arguments, using the KillMode, KillSignal and TimeoutStopSec its file says:
  the worker's process tree stands in for the unit's control group.
"""

import configparser
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import psutil
import pytest
from django.conf import settings

from blog.seeding import seed_posts
from exports.services import export_launch
from testkit import processes
from testkit.missing import missing
from testkit.waiting import wait_until
from usertasks.models import Task

UNITS = settings.BASE_DIR / "deploy" / "systemd"
INSTALL_DIR = "/srv/microblog"
WORKER_UNIT = UNITS / "microblog-worker@.service"
POSTS = 100_000  # an export of many progress reports: the stop comes after the first
STOP_BOUND = 120  # this test's own limit on a stop, whatever TimeoutStopSec says


def systemd_analyze():
    if command := shutil.which("systemd-analyze"):
        return command
    missing("systemd-analyze is not installed (Debian package systemd)")


def test_systemd_loads_every_line_of_the_units(tmp_path):
    command = systemd_analyze()
    installed = []
    for unit in sorted(UNITS.glob("*.service")):
        # A template is loaded as one of its instances, as `systemctl start microblog-worker@1`.
        path = tmp_path / unit.name.replace("@.service", "@1.service")
        path.write_text(unit.read_text().replace(INSTALL_DIR, str(settings.BASE_DIR)))
        installed.append(str(path))
    names = {Path(path).name for path in installed}
    assert {"microblog-web.service", "microblog-worker@1.service"} <= names, names

    result = subprocess.run(
        [command, "verify", *installed], capture_output=True, text=True, timeout=60, check=False
    )

    # verify exits 0 on lines it ignores (unknown keys, unparsable values) but reports them.
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def service_section(path):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(path.read_text())
    return dict(parser["Service"])


TIME_UNITS = {"us": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3, "": 1, "s": 1, "sec": 1}
TIME_UNITS |= {"m": 60, "min": 60, "minutes": 60, "h": 3600, "hr": 3600, "hours": 3600}


def timespan(value):
    """Seconds of a systemd time span (systemd.time(7)): "600", "10min", "1min 30s", "infinity"."""
    if value.strip() == "infinity":
        return math.inf
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value)
    assert parts, value
    return sum(float(number) * TIME_UNITS[unit] for number, unit in parts)


KILL_MODES = {"control-group", "mixed", "process", "none"}


class SystemdStop:
    """`systemctl stop` of a Type=simple service whose main process is ``main_pid``, as
    systemd.kill(5) describes it, with the unit's control group taken as the main process and
    its descendants at the moment of the stop (RQ's work-horse has a process group of its own,
    not a cgroup: killpg would not reach it, a control group does)."""

    def __init__(self, service, main_pid):
        # systemd ignores a value it cannot parse and keeps the default (as verify reports).
        self.mode = service.get("KillMode", "control-group")
        if self.mode not in KILL_MODES:
            self.mode = "control-group"
        name = service.get("KillSignal", "SIGTERM")
        self.signal = getattr(signal, name if name.startswith("SIG") else f"SIG{name}", None)
        self.signal = self.signal or signal.SIGTERM
        self.timeout = timespan(service.get("TimeoutStopSec", "90s"))
        self.main = psutil.Process(main_pid)
        self.group = [self.main, *self.main.children(recursive=True)]

    def signal_processes(self):
        """The stop's first step: KillSignal to the whole group, or to the main process only."""
        targets = {"control-group": self.group, "mixed": [self.main], "process": [self.main]}
        for process in targets.get(self.mode, []):  # KillMode=none signals nothing
            process.send_signal(self.signal)

    def wait(self):
        """Until the main process exits; past TimeoutStopSec, SIGKILL (the group, unless
        KillMode=process), as after the main process's exit in control-group and mixed mode."""
        if self.mode == "none":
            return
        _, alive = psutil.wait_procs([self.main], timeout=min(self.timeout, STOP_BOUND))
        if alive and self.timeout > STOP_BOUND:
            raise AssertionError(f"the worker did not stop within {STOP_BOUND} s")
        if self.mode in {"control-group", "mixed"}:
            for process in self.group:
                if process.is_running():
                    process.kill()
        elif alive:
            self.main.kill()
        psutil.wait_procs([self.main], timeout=10)


def worker_arguments(service):
    """What ExecStart gives `manage.py rqworker`."""
    argv = shlex.split(service["ExecStart"])
    assert argv[1:3] == ["manage.py", "rqworker"], argv
    return argv[3:]


def running_export(task, worker):
    """The work-horse once the export has written some of the posts, else None."""
    task.refresh_from_db()
    running = task.status == Task.Status.RUNNING and task.done
    return processes.work_horse_pid(worker) if running else None


def stop_during_an_export(service, user, media_root, smtp_server, log_path):
    """Start a worker as the unit does, start an export, and stop the worker as systemd would
    while the export is half-way; returns the task as the stopped worker left it, and its log.
    (Its work-horse records the export's end, or the worker the horse's loss, before it exits.)"""
    seed_posts(author=user, count=POSTS, seed=11)
    args = worker_arguments(service)
    worker = processes.start_listening_worker(
        log_path, *args, MEDIA_ROOT=media_root, EXPORT_PROGRESS_INTERVAL=0, **smtp_server.env()
    )
    group = [psutil.Process(worker.pid)]
    try:
        task = export_launch(user=user)
        horse = wait_until(lambda: running_export(task, worker), 60, 0.005)
        # The stop comes half-way: the horse is held still while systemd's signals arrive.
        os.kill(horse, signal.SIGSTOP)
        stop = SystemdStop(service, worker.pid)
        group = stop.group
        task.refresh_from_db()
        assert task.status == Task.Status.RUNNING and 0 < task.done < POSTS, task.done
        assert horse in [process.pid for process in group]
        stop.signal_processes()
        os.kill(horse, signal.SIGCONT)
        stop.wait()
    finally:
        for process in group:  # whatever a failed test left running
            if process.is_running():
                process.kill()
        worker.stop()
    task.refresh_from_db()
    return task, worker.output()


@pytest.mark.fault
@pytest.mark.django_db(transaction=True)
def test_stopping_a_worker_as_its_unit_says_lets_the_current_export_finish(
    user, redis_client, media_root, smtp_server, tmp_path
):
    service = service_section(WORKER_UNIT)

    task, log = stop_during_an_export(service, user, media_root, smtp_server, tmp_path / "w.log")

    assert task.status == Task.Status.SUCCEEDED, (task.status, task.error_code, log[-3000:])
    assert task.done == POSTS
    assert Path(media_root, task.result.name).is_file()


@pytest.mark.fault
@pytest.mark.django_db(transaction=True)
def test_the_default_kill_mode_would_end_the_current_export_failed(
    user, redis_client, media_root, smtp_server, tmp_path
):
    """Why the unit says KillMode=mixed: systemd's default signals the work-horse too."""
    service = {**service_section(WORKER_UNIT), "KillMode": "control-group"}

    task, log = stop_during_an_export(service, user, media_root, smtp_server, tmp_path / "w.log")

    assert task.status == Task.Status.FAILED, (task.status, log[-3000:])
