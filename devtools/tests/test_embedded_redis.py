"""`python -m devtools.embedded_redis COMMAND` (devtools/embedded_redis.py)."""

import os
import subprocess
import sys
import time

import pytest
import redis
from django.conf import settings

PING = (
    "import os, redis; url = os.environ['REDIS_URL']; "
    "print(url); print(redis.Redis.from_url(url).ping())"
)


def run_wrapped(*command, redis_url=None):
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    if redis_url:
        env["REDIS_URL"] = redis_url
    return subprocess.run(
        [sys.executable, "-m", "devtools.embedded_redis", *command],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_command_runs_against_a_private_redis_that_is_stopped_afterwards():
    result = run_wrapped(sys.executable, "-c", PING)

    assert result.returncode == 0, result.stderr
    *_, url, pong = result.stdout.splitlines()
    assert pong == "True"
    assert url != settings.REDIS_URL
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    with pytest.raises(redis.ConnectionError):
        client.ping()
    client.close()


def test_the_commands_exit_code_is_passed_through():
    result = run_wrapped(sys.executable, "-c", "import sys; sys.exit(7)")

    assert result.returncode == 7


def test_with_redis_url_set_the_command_runs_against_that_server():
    result = run_wrapped(sys.executable, "-c", PING, redis_url=settings.REDIS_URL)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [settings.REDIS_URL, "True"]


def test_with_sentinels_set_no_redis_is_started():
    """`make run` against Redis Sentinel: the command sees no REDIS_URL of ours."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(REDIS_SENTINELS="127.0.0.1:26379", REDIS_SENTINEL_MASTER="microblog")
    show = "import os; print(os.environ.get('REDIS_URL'))"
    result = subprocess.run(
        [sys.executable, "-m", "devtools.embedded_redis", sys.executable, "-c", show],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["None"]


def test_the_server_stops_when_the_process_that_started_it_is_killed():
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from devtools.embedded_redis import EmbeddedRedis; import time; "
            "print(EmbeddedRedis().start().url, flush=True); time.sleep(60)",
        ],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    client = redis.Redis.from_url(starter.stdout.readline().strip(), socket_connect_timeout=1)
    assert client.ping()

    starter.kill()  # SIGKILL: no atexit, no cleanup code runs
    starter.wait()

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            client.ping()
        except redis.ConnectionError:
            return
        time.sleep(0.05)
    pytest.fail("the embedded redis-server outlived the process that started it")
