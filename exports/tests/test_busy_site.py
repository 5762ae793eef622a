"""Exports on the default SQLite database while other people use the site (issue: "database is
locked" failed every export whenever anyone else posted or logged in).

The site runs as `make run` runs it: a SQLite file, daphne and an RQ worker, migrated and seeded
by the management commands. Everything happens over HTTP, as visitors do it.
"""

import fcntl
import os
import shutil
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from testkit import processes
from testkit.factories import PASSWORD
from testkit.visitor import Visitor
from testkit.waiting import wait_until

pytestmark = [pytest.mark.fault, pytest.mark.slow]

POSTS = 300_000  # carol's: her export still streams for ~0.4 s once it is seen started


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory, worker_id):
    """A migrated SQLite file where carol has 300,000 posts and bob none, built once per run:
    the pytest-xdist processes share it under a lock (seeding is most of these tests' cost)."""
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent  # the run's, not the machine's
    template = shared / "busy-site.sqlite3"
    with open(shared / "busy-site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not template.exists():
            building = shared / "busy-site.building.sqlite3"
            env = {"DATABASE_URL": f"sqlite:///{building}"}
            processes.manage("migrate", "--noinput", **env)
            processes.manage(
                "seed_posts", "carol", str(POSTS), "--password", PASSWORD, "--seed", "1", **env
            )
            processes.manage("seed_posts", "bob", "0", "--password", PASSWORD, **env)
            building.rename(template)
    return template


@pytest.fixture
def sqlite_site(tmp_path, seeded_database, redis_client, smtp_server):
    """daphne and a worker on a SQLite file of their own; carol has 300,000 posts."""
    media = tmp_path / "media"
    database = tmp_path / "site.sqlite3"
    shutil.copyfile(seeded_database, database)
    env = {
        "DATABASE_URL": f"sqlite:///{database}",
        "MEDIA_ROOT": media,
        "TASKS_PER_HOUR": 0,
        **smtp_server.env(),
    }
    web = processes.start_daphne(tmp_path / "web.log", **env)
    worker = processes.start_listening_worker(tmp_path / "worker.log", **env)
    yield SimpleNamespace(web=web, worker=worker, parts=media / "exports" / "tmp")
    web.stop()
    worker.stop()


class Neighbour(threading.Thread):
    """bob: posts, logs out and logs in again, over and over, until told to stop."""

    def __init__(self, base_url):
        super().__init__(daemon=True)
        self.visitor = Visitor(base_url)
        self.visitor.log_in("bob", PASSWORD)
        self.post_times = []  # when each post was accepted (UTC)
        self.failures = []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                response = self.visitor.post("/", {"body": f"bob's post {len(self.post_times)}"})
                if response.status_code != 200 or "Your post is now live!" not in response.text:
                    self.failures.append(("post", response.status_code))
                self.post_times.append(datetime.now(UTC))
                if len(self.post_times) % 5 == 0:
                    self.visitor.post("/accounts/logout/")
                    self.visitor.log_in("bob", PASSWORD)
            except (requests.RequestException, AssertionError) as error:  # the test fails on it
                self.failures.append(("error", repr(error)))

    def stop(self):
        self.stopping.set()
        self.join(60)


def posts_since(neighbour, count):
    start = len(neighbour.post_times)
    return lambda: len(neighbour.post_times) >= start + count


def frozen_mid_export(site, carol):
    """Start carol's export and freeze its work-horse once it has streamed some posts: its id
    and the horse's pid."""
    task_id = carol.start_export()
    wait_until(lambda: carol.task(task_id)["done"] > 0 or carol.finished_task(task_id), 60, 0.01)
    horse = processes.work_horse_pid(site.worker)
    os.kill(horse, signal.SIGSTOP)
    return task_id, horse


def test_other_users_posting_and_logging_in_never_affect_an_export_on_sqlite(sqlite_site):
    carol = Visitor(sqlite_site.web.url)
    carol.log_in("carol", PASSWORD)
    bob = Neighbour(sqlite_site.web.url)
    bob.start()
    try:
        # Frozen mid-stream, the export's read snapshot is certainly older than what bob
        # commits now; then it goes on.
        task_id, horse = frozen_mid_export(sqlite_site, carol)
        try:
            wait_until(posts_since(bob, 10), 60)
        finally:
            os.kill(horse, signal.SIGCONT)
        exported = wait_until(lambda: carol.finished_task(task_id), 120)
        wait_until(posts_since(bob, 1), 60)
    finally:
        bob.stop()

    log = sqlite_site.worker.output()
    assert exported["status"] == "succeeded", (exported, log[-3000:])
    assert exported["done"] == POSTS
    started = datetime.fromisoformat(exported["created_at"])
    finished = datetime.fromisoformat(exported["finished_at"])
    assert sum(started < t < finished for t in bob.post_times) >= 10
    assert bob.failures == []
    assert "database is locked" not in log
    assert carol.get(exported["download_url"]).json()["posts"][-1]["body"]


def test_a_cancelled_export_leaves_no_file_and_no_error_while_others_write(sqlite_site):
    carol = Visitor(sqlite_site.web.url)
    carol.log_in("carol", PASSWORD)
    bob = Neighbour(sqlite_site.web.url)
    bob.start()
    try:
        task_id, horse = frozen_mid_export(sqlite_site, carol)
        assert list(sqlite_site.parts.glob("*.part"))
        wait_until(posts_since(bob, 3), 60)
        response = carol.post(f"/exports/{task_id}/cancel", {"next": "/exports/"})
        assert "The export was cancelled." in response.text
        # The worker kills the frozen horse (SIGKILL needs no SIGCONT) and cleans up after it.
        wait_until(lambda: not Path(f"/proc/{horse}").exists(), 30)
        wait_until(lambda: not list(sqlite_site.parts.glob("*.part")), 30)
        wait_until(posts_since(bob, 3), 60)
    finally:
        bob.stop()

    assert carol.task(task_id)["status"] == "cancelled"
    assert bob.failures == []
    assert "database is locked" not in sqlite_site.worker.output()
    # The worker goes on: the next export succeeds.
    again = carol.start_export()
    assert wait_until(lambda: carol.finished_task(again), 120)["status"] == "succeeded"
