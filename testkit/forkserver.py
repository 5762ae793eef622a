"""Daphne and worker processes for tests, forked from a process with their libraries imported.

A daphne or ``manage.py rqworker`` started from nothing spends about 1 s of CPU before it
serves, 0.8 s of it importing Django, Twisted, autobahn, Channels, RQ, redis-py and psycopg; the
suite starts about 160 of them on 2 cores (bench/RESULTS.md §10). One fork server per test
process imports those libraries once (never the project, never settings: every child reads its
own environment), and forks each child from there, which then runs ``python -m daphne ...``,
``python manage.py ...`` or ``python -c ...`` exactly as the command line would.

A forked child's command line (/proc/PID/cmdline) is the fork server's. A child whose command
line is read (``ops.probe``), or whose interpreter must start differently (a preloaded library
such as libfaketime, another PYTHONPATH or interpreter) is started with
``subprocess.Popen`` as before: ``usable(args, env)`` decides, and ``TESTS_FORK_SERVER=off`` in
the child's environment (or the session's) asks for it.

Protocol: one JSON line per request on the server's stdin, one JSON line per answer on its
stdout. The server reaps its children and keeps their exit codes for ``status``.
"""

import atexit
import importlib
import io
import json
import os
import runpy
import select
import subprocess
import sys
import threading
import time
import traceback
import types

# The libraries daphne and the workers import, and nothing that reads settings.
LIBRARIES = (
    "django.apps",
    "django.contrib.admin.options",
    "django.contrib.staticfiles.handlers",
    "django.core.handlers.asgi",
    "django.core.management",
    "django.db.backends.postgresql.base",
    "django.db.backends.sqlite3.base",
    "django.db.models",
    "django.forms",
    "django.http",
    "django.template.defaulttags",
    "django.urls",
    "django.views.generic",
    "asgiref.sync",
    "autobahn.twisted.websocket",
    "channels.generic.websocket",
    "channels.routing",
    "channels_redis.core",
    "environ",
    "prometheus_client",
    "psycopg",
    "redis",
    "redis.asyncio",
    "rq",
    "rq.worker",
    "twisted.internet.asyncioreactor",
    "twisted.internet.endpoints",
    "twisted.web.http",
    "whitenoise.middleware",
)
# What changes how an interpreter starts: a child whose environment differs here is not forked.
STARTUP_VARIABLES = ("LD_PRELOAD", "PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH", "PYTHONWARNINGS")


# -- the server ----------------------------------------------------------------------------------


def serve():
    for name in LIBRARIES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - it needs settings: the child imports it
            continue
    # daphne installs Twisted's asyncio reactor itself; one installed here would be the wrong one.
    if "twisted.internet.reactor" in sys.modules:
        raise SystemExit("a library installed a Twisted reactor: not forking from here")
    requests = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    answers = io.FileIO(1, "w", closefd=False)
    exits = {}
    answers.write(b'{"ready": true}\n')
    while True:
        readable, _, _ = select.select([0], [], [], 0.2)
        _reap(exits)
        if not readable:
            continue
        line = requests.readline()
        if not line:
            return  # the test process is gone
        request = json.loads(line)
        if request["op"] == "spawn":
            answer = {"pid": _spawn(**request["child"])}
        else:
            answer = {"returncode": exits.get(request["pid"])}
        answers.write(json.dumps(answer).encode() + b"\n")


def _reap(exits):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        exits[pid] = os.waitstatus_to_exitcode(status)


def _spawn(args, env, cwd, log_path, error_path=None):
    """The child's pid, once it leads a session of its own and writes to its log (as a child of
    ``subprocess.Popen(start_new_session=True)`` does when Popen returns); its stderr goes to
    ``error_path`` if given, else to the log too."""
    started, tell = os.pipe()
    pid = os.fork()
    if pid:
        os.close(tell)
        os.read(started, 1)
        os.close(started)
        return pid
    code = 1
    try:
        os.close(started)
        os.setsid()
        log = _create(log_path)
        errors = _create(error_path) if error_path else log
        nothing = os.open(os.devnull, os.O_RDONLY)
        os.dup2(nothing, 0)
        os.dup2(log, 1)
        os.dup2(errors, 2)
        for descriptor in {log, errors, nothing}:
            os.close(descriptor)
        os.close(tell)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        code = _run(args[1:], cwd)
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
        if not isinstance(exit.code, int | None):
            print(exit.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - reported in the child's log, as Python would
        traceback.print_exc()
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _create(path):
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)


def _run(argv, cwd):
    """``python -m module ...``, ``python -c code ...`` or ``python script ...``, as the
    interpreter runs them."""
    if argv[0] == "-c":
        sys.argv = ["-c", *argv[2:]]
        sys.path[0] = ""
        main = types.ModuleType("__main__")
        sys.modules["__main__"] = main
        exec(compile(argv[1], "<string>", "exec"), main.__dict__)  # noqa: S102 - as python -c
    elif argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        sys.path[0] = cwd
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        script = os.path.join(cwd, argv[0])
        sys.argv = list(argv)
        sys.path[0] = os.path.dirname(script)
        runpy.run_path(script, run_name="__main__")
    return 0


# -- the client ---------------------------------------------------------------------------------


class _Server:
    """This test process's fork server, started on first use and stopped when it exits."""

    def __init__(self):
        self.lock = threading.Lock()
        self.process = None
        self.broken = False

    def available(self):
        """Started (on first use) and answering; False if it could not start."""
        with self.lock:
            if self.process is None and not self.broken:
                self._start()
            return not self.broken

    def ask(self, request):
        with self.lock:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("the fork server ended")
            return json.loads(line)

    def _start(self):
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from testkit.forkserver import serve; serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            env={k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        )
        atexit.register(self.stop)
        self.broken = not self.process.stdout.readline()  # it said why on stderr

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(10)


_SERVER = _Server()


def usable(args, env):
    """Would this child start as the command line starts it? (The working directory is the
    checkout's, as for every child ``testkit.processes`` starts.)"""
    return (
        env.get("TESTS_FORK_SERVER", "on") != "off"  # e.g. to read its /proc/PID/cmdline
        and args[0] == sys.executable
        and (args[1] in ("-m", "-c") or args[1].endswith(".py"))
        and all(env.get(name) == os.environ.get(name) for name in STARTUP_VARIABLES)
        and not any(name.startswith("FAKETIME") for name in env)
        and _SERVER.available()
    )


class ForkedPopen:
    """What tests use of ``subprocess.Popen``, for a child of the fork server."""

    def __init__(self, args, env, cwd, log_path, error_path=None):
        self.args = args
        self.returncode = None
        child = {"args": list(args), "env": dict(env), "cwd": str(cwd), "log_path": str(log_path)}
        if error_path:
            child["error_path"] = str(error_path)
        self.pid = _SERVER.ask({"op": "spawn", "child": child})["pid"]

    def poll(self):
        if self.returncode is None:
            self.returncode = _SERVER.ask({"op": "status", "pid": self.pid})["returncode"]
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, sig):
        if self.poll() is None:
            os.kill(self.pid, sig)
