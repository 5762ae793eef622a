"""A newcomer's path on a fresh checkout: `make run`, then every README "First steps" command
exactly as written, an export whose e-mailed link follows PORT, and Ctrl-C that exits 0.

The checkout holds what `git clone` would give once the work tree is committed (tracked and
new, non-ignored files); to stay within minutes it reuses this checkout's installed .venv.
Commands run through a real terminal (pexpect), with none of the test session's variables.
"""

import os
import re
import shlex
import shutil
import subprocess

import pexpect
import pytest
from django.conf import settings

from testkit import processes
from testkit.visitor import Visitor
from testkit.waiting import wait_until

pytestmark = [pytest.mark.slow]


def first_steps():
    readme = (settings.BASE_DIR / "README.md").read_text()
    section = readme.split("## First steps", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def fresh_checkout(target):
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        source = settings.BASE_DIR / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(settings.BASE_DIR / ".venv")
    for requirements in target.glob("requirements*.txt"):
        os.utime(requirements, (0, 0))  # the shared .venv already has them: no reinstall
    return target


def newcomer_env(port):
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "PORT": str(port),
    }


def test_the_readme_starts_with_make_run_and_make_test_and_then_shows_the_first_steps():
    readme = (settings.BASE_DIR / "README.md").read_text()
    intro = readme.split("```sh\n", 1)[1].split("```", 1)[0]

    assert [line.split()[:2] for line in intro.splitlines()] == [["make", "run"], ["make", "test"]]
    assert readme.index("## First steps") < readme.index("## Documentation")
    steps = first_steps()
    assert any("createsuperuser" in step for step in steps)
    assert any("seed_posts alice 100000" in step for step in steps)
    assert "var/mail/" in readme.split("## First steps", 1)[1].split("\n## ", 1)[0]


def create_superuser(command, cwd, env):
    shell = pexpect.spawn("bash", ["-c", command], cwd=cwd, env=env, encoding="utf-8", timeout=60)
    for prompt, answer in [
        ("Username", "admin"),
        ("Email address", "admin@example.com"),
        ("Password:", "a-long-admin-password-2026"),
        (r"Password \(again\)", "a-long-admin-password-2026"),
    ]:
        shell.expect(prompt)
        shell.sendline(answer)
    shell.expect(pexpect.EOF)
    shell.close()
    assert shell.exitstatus == 0, shell.before
    return shell.before


def test_a_fresh_checkout_runs_every_first_step_as_written_and_stops_cleanly_on_ctrl_c(tmp_path):
    checkout = fresh_checkout(tmp_path / "microblog")
    port = processes.free_port()
    env = newcomer_env(port)
    site = f"http://127.0.0.1:{port}"
    make_run = pexpect.spawn("make", ["run"], cwd=checkout, env=env, encoding="utf-8", timeout=300)
    log = (tmp_path / "make-run.log").open("w")
    make_run.logfile_read = log
    try:
        # The web server and the worker are ready, in whichever order they say so.
        ready = [f"Listening on TCP address 127.0.0.1:{port}", r"\*\*\* Listening on default"]
        while ready:
            ready.pop(make_run.expect(ready))
        outputs = []
        for step in first_steps():
            if "createsuperuser" in step:
                outputs.append(create_superuser(step, checkout, env))
                continue
            result = subprocess.run(
                ["bash", "-c", step],
                cwd=checkout,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == 0, (step, result.stdout, result.stderr)
            outputs.append(result.stdout)
        seed = next(shlex.split(s) for s in first_steps() if "seed_posts" in s)
        password = seed[seed.index("--password") + 1]

        visitor = Visitor(site)
        visitor.log_in("alice", password)
        task_id = visitor.start_export()
        task = wait_until(
            lambda: (t := visitor.task(task_id))["status"] not in {"queued", "running"} and t, 120
        )
        mail = wait_until(lambda: list((checkout / "var" / "mail").glob("*.log")), 30)

        # Production still refuses to start without its own key, var/dev.env or not.
        production = subprocess.run(
            [".venv/bin/python", "manage.py", "check"],
            cwd=checkout,
            env={**env, "DEBUG": "false"},
            capture_output=True,
            text=True,
            timeout=60,
        )

        make_run.sendcontrol("c")
        make_run.expect(pexpect.EOF, timeout=60)
    finally:
        if make_run.isalive():  # a failed step: stop it as a user would, then for good
            make_run.sendcontrol("c")
            make_run.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=30)
        make_run.close(force=True)
        log.close()
    output = (tmp_path / "make-run.log").read_text()

    assert "Superuser created successfully." in outputs[0]
    assert "Added 100000 posts for alice" in outputs[1]
    assert task["status"] == "succeeded", task
    link = f"{site}/exports/{task_id}/download"
    # What `cat var/mail/*.log` shows, as the README says: the link whole, on a line of its own.
    shown = "".join(path.read_text() for path in mail)
    assert f"Download it here: {link}\n" in shown, shown
    assert production.returncode == 1 and "SECRET_KEY" in production.stderr, production.stderr
    assert make_run.exitstatus == 0, output[-3000:]
    assert "Error" not in output and "Traceback" not in output, output[-3000:]
    assert output.rstrip().endswith("Stopped.")
