"""The Procfile, run as a PaaS runs it (honcho reads it as Heroku and Dokku do): the release
step migrates, web serves on the host and port it is given, and the worker runs exports."""

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from exports.services import export_launch
from testkit import processes
from testkit.waiting import wait_until
from usertasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)

HONCHO = [sys.executable, "-m", "honcho", "start", "--procfile", "Procfile", "--env", "/dev/null"]


def test_the_procfile_migrates_serves_on_its_port_and_runs_exports(
    user, redis_client, media_root, smtp_server, tmp_path
):
    port = processes.free_port()
    env = processes.child_env(
        HOST="127.0.0.1", PORT=port, MEDIA_ROOT=media_root, **smtp_server.env()
    )
    # The Procfile names `python` and `daphne`, as a PaaS's image puts them on PATH.
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    release = subprocess.run(
        [*HONCHO, "release"],
        cwd=processes.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert release.returncode == 0, release.stdout + release.stderr
    assert "No migrations to apply" in release.stdout

    site = processes.Process([*HONCHO, "web", "worker"], env, tmp_path / "honcho.log")
    try:
        processes.wait_for_port(port, site)
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        task = export_launch(user=user)
        wait_until(lambda: Task.objects.get(pk=task.pk).status == Task.Status.SUCCEEDED, 60)
        assert Path(media_root, Task.objects.get(pk=task.pk).result.name).exists()
    finally:
        site.stop()
