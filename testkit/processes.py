"""Real daphne and RQ worker processes for tests, pointed at the test database and Redis."""

import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, suppress
from pathlib import Path

from django.db import connection

from testkit import forkserver
from testkit.waiting import wait_until

BASE_DIR = Path(__file__).resolve().parent.parent

# Production notices a dead worker within ~35 s; fault tests shrink the intervals to stay short.
FAST_DETECTION = {
    "RQ_JOB_MONITORING_INTERVAL": 1,
    "RQ_MAINTENANCE_INTERVAL": 2,
    "TASK_HEARTBEAT_GRACE": 3,
    "TASK_ENQUEUE_GRACE": 1,
}


def database_url():
    """A DATABASE_URL for the test database this process is using."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def child_env(**overrides):
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DEBUG": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PRIVATE_PORTS = 20_000  # below the kernel's ephemeral range (32768-60999 by default)
PORTS_PER_TEST_PROCESS = 500


def private_port():
    """A free port that stays this test's own while nothing listens on it: for a server the
    test stops and starts again on the same port, or an address where nothing must answer.

    ``free_port()`` gives a port from the kernel's ephemeral range, which under pytest-xdist
    another test process may be handed as soon as it is free again (by ``free_port()`` or as
    the local port of an outgoing connection): a restarted server would then fail, or the
    test's processes would talk to another test's server. Ports below that range are never
    handed out that way, and each test process takes them from a block of its own.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    first = PRIVATE_PORTS + int(worker.removeprefix("gw")) * PORTS_PER_TEST_PROCESS
    for port in random.sample(range(first, first + PORTS_PER_TEST_PROCESS), 50):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{first + PORTS_PER_TEST_PROCESS - 1}")


class Process:
    """A child process whose output goes to a log file, stopped (and reaped) by ``stop()``."""

    def __init__(self, args, env, log_path):
        self.log_path = log_path
        if forkserver.usable(args, env):
            self._log = None
            self.popen = forkserver.ForkedPopen(args, env, BASE_DIR, log_path)
            return
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            args,
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def output(self):
        return Path(self.log_path).read_text(errors="replace")

    def kill(self, sig=signal.SIGKILL):
        """Signal the whole process group (worker and its work-horse)."""
        if self.alive():
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout=10):
        if self.alive():
            self.kill(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.popen.wait()
        if self._log:
            self._log.close()


def wait_for_port(port, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"process exited early:\n{process.output()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}:\n{process.output()}")


DAPHNE_BACKLOG = 1024  # as deployed (Procfile): Twisted's default of 50 overflowed in a burst


def start_daphne(log_path, port=None, bind="127.0.0.1", options=(), **env):
    """daphne serving the site; ``options``: more of daphne's command-line options."""
    port = port or free_port()
    process = Process(
        [
            sys.executable,
            "-m",
            "daphne",
            "-e",
            f"tcp:port={port}:interface={bind}:backlog={DAPHNE_BACKLOG}",
            *options,
            "microblog.asgi:application",
        ],
        child_env(**env),
        log_path,
    )
    wait_for_port(port, process)
    process.port = port
    process.url = f"http://127.0.0.1:{port}"
    return process


@contextmanager
def running_worker(log_path, *args, **env):
    """A worker for the duration of a ``with`` block."""
    worker = start_worker(log_path, *args, **env)
    try:
        yield worker
    finally:
        worker.stop()


def work_horse_pid(worker):
    """The worker's work-horse while a job runs, else None: the child that leads a process group
    of its own (RQ's fork calls setpgrp), so that a --with-scheduler worker's scheduler child,
    which stays in the worker's group, is never taken for it."""
    for child in Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split():
        with suppress(ProcessLookupError):  # it ended since the list was read
            if os.getpgid(int(child)) == int(child):
                return int(child)
    return None


def peak_rss_mb(pid):
    """A process's peak resident memory so far (the kernel's VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"/proc/{pid}/status has no VmHWM")


def run_python(args, env, timeout, cwd=BASE_DIR):
    """``subprocess.run([sys.executable, *args], capture_output=True, text=True)``, forked from
    this test process's fork server when the child would start the same (testkit/forkserver.py):
    most of such a child's CPU is importing the libraries the fork server already holds."""
    command = [sys.executable, *args]
    if not forkserver.usable(command, env):
        return subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    with tempfile.TemporaryDirectory() as scratch:
        stdout, stderr = Path(scratch, "stdout"), Path(scratch, "stderr")
        child = forkserver.ForkedPopen(command, env, cwd, stdout, stderr)
        try:
            returncode = child.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            raise
        return subprocess.CompletedProcess(
            command, returncode, stdout.read_text(), stderr.read_text()
        )


def manage(*args, timeout=600, **env):
    """Run a management command to completion in a child process; returns its output."""
    result = run_python(["manage.py", *args], child_env(**env), timeout)
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def start_worker(log_path, *args, **env):
    process = Process([sys.executable, "manage.py", "rqworker", *args], child_env(**env), log_path)
    return process


def start_listening_worker(log_path, *args, timeout=30, **env):
    """A worker that is already waiting on its queue (it has run its first maintenance pass)."""
    worker = start_worker(log_path, *args, **env)
    wait_until(lambda: "Listening on" in worker.output(), timeout)
    return worker


def kill_worker_and_horse(worker):
    """SIGKILL a worker and its work-horse (RQ puts the horse in a session of its own). A horse
    that ended between being found and being killed (its job done, or the worker's death
    signal, usertasks.workers.die_with_the_worker) is gone already, as this wants."""
    horse = work_horse_pid(worker)
    worker.kill(signal.SIGKILL)
    if horse:
        with suppress(ProcessLookupError):
            os.kill(horse, signal.SIGKILL)
    worker.stop()
