"""`make run` never loses the website because one process died, and stops cleanly on Ctrl-C.

The test runs the very command line of the Makefile's `run` target (honcho with Procfile.dev,
under devtools.embedded_redis) on the test database and the test Redis, on a free port.
"""

import os
import signal
import sys

import pytest
import requests
from django.conf import settings

from ops.probe import command_line, parent_pid, tree
from testkit import processes
from testkit.factories import PASSWORD, UserFactory
from testkit.visitor import Visitor
from testkit.waiting import wait_until

HONCHO = "honcho start --procfile Procfile.dev --env /dev/null --port {port} web worker"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.fault,
    pytest.mark.django_db(transaction=True),
]


def test_the_makefile_runs_this_very_command_line():
    makefile = (settings.BASE_DIR / "Makefile").read_text().replace("\\\n", " ")

    assert "-m devtools.embedded_redis" in makefile
    assert " ".join(HONCHO.format(port="$(PORT)").split()) in " ".join(makefile.split())


def _pids(root, wanted):
    """Processes under ``root`` that ``wanted(argv)`` selects, leaving out the respawn wrappers
    and the forks of a worker (its scheduler and work-horse share its command line)."""
    found = []
    for pid in tree(root):
        argv = command_line(pid)
        if any(arg.endswith("scripts/respawn") for arg in argv) or not wanted(argv):
            continue
        if command_line(parent_pid(pid)) != argv:
            found.append(pid)
    return found


def daphnes(root):
    return _pids(root, lambda argv: any(arg.endswith("/daphne") for arg in argv[:2]))


def workers(root):
    return _pids(root, lambda argv: "rqworker" in argv)


def answers(url):
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def test_a_killed_web_server_or_worker_is_restarted_and_ctrl_c_still_stops_everything(
    redis_client, media_root, smtp_server, tmp_path
):
    user = UserFactory()
    port = processes.private_port()  # the web server is killed and restarted on it
    venv_bin = os.path.dirname(sys.executable)
    env = processes.child_env(
        MEDIA_ROOT=media_root,
        PATH=f"{venv_bin}:{os.environ['PATH']}",
        SITE_URL=f"http://127.0.0.1:{port}",
        TASKS_PER_HOUR=0,
        **smtp_server.env(),  # not var/mail/ of this work tree
    )
    command = [sys.executable, "-m", "devtools.embedded_redis", *HONCHO.format(port=port).split()]
    # In a session of its own, as make's foreground job: the signals below reach the whole
    # group, as a terminal's Ctrl-C would.
    run = processes.Process(command, env, tmp_path / "make-run.log")
    try:
        processes.wait_for_port(port, run)
        site = f"http://127.0.0.1:{port}"
        first_daphne = wait_until(lambda: daphnes(run.pid), 30)[0]
        first_worker = wait_until(lambda: workers(run.pid), 30)[0]

        os.kill(first_daphne, signal.SIGKILL)
        new_daphne = wait_until(lambda: [p for p in daphnes(run.pid) if p != first_daphne], 30)
        assert wait_until(lambda: answers(site + "/healthz"), 30)

        os.kill(first_worker, signal.SIGKILL)
        wait_until(lambda: [p for p in workers(run.pid) if p != first_worker], 30)
        assert answers(site + "/")  # the site never went down with the worker
        visitor = Visitor(site)
        visitor.log_in(user.username, PASSWORD)
        task_id = visitor.start_export()
        finished = wait_until(
            lambda: (t := visitor.task(task_id))["status"] not in {"queued", "running"} and t, 60
        )
        assert new_daphne

        os.killpg(run.pid, signal.SIGINT)
        code = run.popen.wait(30)
    finally:
        run.stop()
    output = run.output()

    assert finished["status"] == "succeeded", output
    assert "daphne was killed by signal 9; starting it again" in output, output
    assert "python was killed by signal 9; starting it again" in output, output
    assert code == 0, output
    assert output.rstrip().endswith("Stopped."), output
