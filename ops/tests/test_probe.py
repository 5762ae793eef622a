"""The image's HEALTHCHECK (ops/probe.py), run for real against processes on loopback.

Each container kind checks what it runs: a web container daphne's /healthz on daphne's own port,
a worker container its own worker's heartbeat.
"""

import os
import signal

import pytest

from testkit import processes
from testkit.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
# The probe finds daphne and the worker by their command lines: real ones, not forks of the
# test's fork server (testkit/forkserver.py).
OWN_COMMAND_LINE = {"TESTS_FORK_SERVER": "off"}


def probe(pid, **env):
    """`python -m ops.probe` as the image's HEALTHCHECK runs it, rooted at ``pid``."""
    probe_env = {key: value for key, value in os.environ.items() if key != "ALLOWED_HOSTS"}
    probe_env.update(env)
    return processes.run_python(["-m", "ops.probe", "--root-pid", str(pid)], probe_env, timeout=30)


@pytest.mark.parametrize(
    ("allowed_hosts", "redis_up"),
    [(None, True), (".example.com,localhost", True), (None, False)],
    ids=["default-hosts", "wildcard-domain", "redis-down"],
)
def test_a_web_container_on_another_port_probes_its_own_daphne(
    allowed_hosts, redis_up, redis_client, media_root, tmp_path
):
    server_env = {
        "MEDIA_ROOT": media_root,
        "ALLOWED_HOSTS": allowed_hosts or "localhost,127.0.0.1",
        **OWN_COMMAND_LINE,
    }
    if not redis_up:
        server_env["REDIS_URL"] = f"redis://127.0.0.1:{processes.private_port()}/0"
    web = processes.start_daphne(tmp_path / "web.log", **server_env)
    try:
        assert web.port != 8000
        result = probe(web.pid, **({"ALLOWED_HOSTS": allowed_hosts} if allowed_hosts else {}))
    finally:
        web.stop()

    assert (result.returncode == 0) is redis_up, (result.stdout, web.output())
    assert f"web on port {web.port}" in result.stdout


def test_a_worker_container_is_healthy_while_its_worker_beats_and_unhealthy_once_stopped(
    redis_client, media_root, tmp_path
):
    # Idle workers beat once per maintenance interval: 1 s here, so the test need not wait.
    worker = processes.start_worker(
        tmp_path / "worker.log",
        MEDIA_ROOT=media_root,
        RQ_MAINTENANCE_INTERVAL=1,
        **OWN_COMMAND_LINE,
    )
    try:
        healthy = wait_until(lambda: probe(worker.pid).returncode == 0, 30, 0.2)
        assert healthy

        os.kill(worker.pid, signal.SIGSTOP)
        frozen = probe(worker.pid)
        os.kill(worker.pid, signal.SIGCONT)
        stale = probe(worker.pid, HEALTH_WORKER_MAX_AGE="0")
        assert wait_until(lambda: probe(worker.pid).returncode == 0, 30, 0.2)

        worker.kill()
        worker.popen.wait(10)
        gone = probe(worker.pid)
    finally:
        worker.stop()

    assert frozen.returncode == 1 and "stopped" in frozen.stdout, frozen.stdout
    assert stale.returncode == 1 and "last heartbeat" in stale.stdout, stale.stdout
    assert gone.returncode == 1, gone.stdout


def test_a_worker_probe_never_reads_another_workers_heartbeat(redis_client, media_root, tmp_path):
    with (
        processes.running_worker(
            tmp_path / "a.log", MEDIA_ROOT=media_root, **OWN_COMMAND_LINE
        ) as first,
        processes.running_worker(
            tmp_path / "b.log", MEDIA_ROOT=media_root, RQ_MAINTENANCE_INTERVAL=1, **OWN_COMMAND_LINE
        ) as second,
    ):
        assert wait_until(lambda: probe(second.pid).returncode == 0, 30, 0.2)
        os.kill(first.pid, signal.SIGSTOP)
        try:
            first_result, second_result = probe(first.pid), probe(second.pid)
        finally:
            os.kill(first.pid, signal.SIGCONT)

    assert first_result.returncode == 1
    assert second_result.returncode == 0
    assert str(second.pid) in second_result.stdout and str(first.pid) not in second_result.stdout
