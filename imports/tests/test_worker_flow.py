"""Imports with real processes: daphne, Redis, an RQ worker and the database under test."""

import json
import os
import shutil
import signal
import sqlite3
import threading
import time

import pytest
from django.utils.html import escape

from blog.models import Follow, Post
from blog.seeding import seed_posts
from imports.models import ImportRun
from imports.tests.archives import HOSTILE_BODIES, bad_archives, posts, write_archive
from imports.tests.leftovers import leftover_uploads
from testkit import processes
from testkit.factories import PASSWORD, UserFactory
from testkit.visitor import Visitor
from testkit.waiting import wait_until
from usertasks.models import Task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def finished(visitor, task_id, timeout=120):
    return wait_until(
        lambda: (state := visitor.task(task_id))["status"] not in ("queued", "running") and state,
        timeout,
    )


def posts_of(user):
    return list(
        Post.objects.filter(author=user)
        .order_by("timestamp", "id")
        .values_list("body", "timestamp")
    )


def test_export_then_import_round_trip_keeps_every_post_and_adds_nothing_twice(
    visitor, worker, tmp_path, password
):
    author = visitor.user
    seed_posts(author=author, count=3_000, seed=16)  # in the past, up to a second ago
    for i, body in enumerate(HOSTILE_BODIES):
        Post.objects.create(author=author, body=f"{body} {i}")
    export_id = visitor.start_export()
    assert finished(visitor, export_id)["status"] == "succeeded", worker.output()
    archive = tmp_path / "posts.json"
    archive.write_bytes(visitor.get(f"/exports/{export_id}/download").content)

    # Importing your own export adds nothing.
    state = finished(visitor, visitor.start_import(archive))
    assert state["status"] == "succeeded", worker.output()
    assert state["notice"] == "Imported 0 posts; skipped 3,007 already present."
    assert Post.objects.filter(author=author).count() == 3_007

    # Another user gets every post, body and timestamp exactly, in time order.
    other = UserFactory()
    newcomer = Visitor(visitor.base_url)
    newcomer.log_in(other.username, password)
    state = finished(newcomer, newcomer.start_import(archive))
    assert state["status"] == "succeeded", worker.output()
    assert state["notice"] == "Imported 3,007 posts; skipped 0 already present."
    assert posts_of(other) == posts_of(author)
    assert leftover_uploads() == []
    assert not ImportRun.objects.exists()

    # A second import of the same archive adds nothing.
    state = finished(newcomer, newcomer.start_import(archive))
    assert state["notice"] == "Imported 0 posts; skipped 3,007 already present."
    assert Post.objects.filter(author=other).count() == 3_007
    assert leftover_uploads() == []

    # On the profile, and on a follower's timeline among that follower's own newer post, the
    # imported posts take their place by their original time, newest first.
    newest, second = Post.objects.filter(author=other).order_by("-timestamp")[:2]
    page = newcomer.get(f"/user/{other.username}/").text
    assert page.index(escape(newest.body)) < page.index(escape(second.body))
    fan = UserFactory()
    Follow.objects.create(follower=fan, followed=other)
    Post.objects.create(author=fan, body="the fan's own post, written after them all")
    fans_browser = Visitor(visitor.base_url)
    fans_browser.log_in(fan.username, password)
    timeline = fans_browser.get("/").text
    own = timeline.index(escape("the fan's own post"))
    assert own < timeline.index(escape(newest.body)) < timeline.index(escape(second.body))


def test_every_bad_archive_fails_with_its_reason_and_leaves_no_post(visitor, worker, tmp_path):
    Post.objects.create(author=visitor.user, body="already here")
    expected_texts = {
        "archive_not_json": "The file is not a JSON archive of posts.",
        "archive_truncated": "The file ends too early: the archive is truncated.",
        "post_body_too_long": "Post 3 has 281 characters; posts are limited to 280.",
        "post_future_timestamp": "Post 1 has a timestamp in the future",
        "post_bad_timestamp": 'Post 3 has a timestamp that is not ISO 8601: "yesterday".',
    }
    for name, path, code, params in bad_archives(tmp_path):
        if name == "empty":  # the form refuses it: no task, nothing stored
            assert "The submitted file is empty." in visitor.upload_archive(path).text
            assert leftover_uploads() == []
            continue
        task_id = visitor.start_import(path)
        state = finished(visitor, task_id)
        assert state["status"] == "failed", (name, worker.output())
        assert (state["error_code"], state["error_params"]) == (code, params), name
        if code in expected_texts:
            assert state["error"].startswith(expected_texts[code]), (name, state["error"])
        assert Post.objects.filter(author=visitor.user).count() == 1, name
        wait_until(lambda: leftover_uploads() == [], 30)  # the job deletes it as it ends
        path.unlink()


def test_an_upload_over_the_limit_is_refused_before_it_is_stored(
    transactional_db, redis_client, media_root, tmp_path, password
):
    site = processes.start_daphne(
        tmp_path / "d.log", MEDIA_ROOT=media_root, IMPORT_MAX_BYTES=10_000
    )
    try:
        user = UserFactory()
        visitor = Visitor(site.url)
        visitor.log_in(user.username, password)
        big = write_archive(tmp_path / "big.json", posts(200))
        response = visitor.upload_archive(big)
        assert response.status_code == 413
        assert "This file is too large: archives are limited to 9.8\xa0KB." in response.text
        assert 'href="/imports/"' in response.text

        # Without a Content-Length (chunked), the body is counted as it streams.
        def chunks():
            boundary = b"--xyz"
            yield boundary + b'\r\nContent-Disposition: form-data; name="archive"; '
            yield b'filename="posts.json"\r\nContent-Type: application/json\r\n\r\n'
            for _ in range(100):
                yield b" " * 1_000
            yield b"\r\n" + boundary + b"--\r\n"

        response = visitor.post(
            "/imports/",
            data=chunks(),
            headers={"Content-Type": "multipart/form-data; boundary=xyz"},
        )
        assert response.status_code == 413
        assert "This file is too large" in response.text
        assert not Task.objects.exists()
        upload_dir = media_root / "private" / "imports"
        assert not upload_dir.exists() or list(upload_dir.iterdir()) == []
    finally:
        site.stop()


def test_a_cancel_mid_import_leaves_no_post_and_no_upload(visitor, worker, tmp_path):
    Post.objects.create(author=visitor.user, body="already here")
    archive = write_archive(tmp_path / "posts.json", posts(150_000))
    task_id = visitor.start_import(archive)
    wait_until(lambda: Post.objects.filter(import_task_id=task_id).exists(), 60, interval=0.01)
    horse = processes.work_horse_pid(worker)
    os.kill(horse, signal.SIGSTOP)  # frozen mid-write: some of its posts are in
    try:
        assert Post.objects.filter(import_task_id=task_id).exists()
        response = visitor.post(f"/exports/{task_id}/cancel", {"next": "/imports/"})
        assert "The import was cancelled; none of its posts were kept." in response.text
    finally:
        if processes.work_horse_pid(worker) == horse:
            os.kill(horse, signal.SIGCONT)
    wait_until(lambda: not Post.objects.filter(import_task_id=task_id).exists(), 60)
    wait_until(lambda: leftover_uploads() == [], 30)
    wait_until(lambda: not ImportRun.objects.exists(), 30)
    assert Task.objects.get(pk=task_id).status == "cancelled"
    assert list(Post.objects.filter(author=visitor.user).values_list("body", flat=True)) == [
        "already here"
    ]


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory):
    """A SQLite file migrated by `manage.py migrate` where dora may log in, made once for the
    module's tests (two management commands: seconds of CPU each time); each test copies it."""
    path = tmp_path_factory.mktemp("sqlite-site") / "site.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{path}"}
    processes.manage("migrate", "--noinput", **env)
    processes.manage("seed_posts", "dora", "0", "--password", PASSWORD, **env)
    db = sqlite3.connect(path)  # all of it in the one file that is copied
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


@pytest.fixture
def sqlite_site(tmp_path, migrated_sqlite, redis_client, smtp_server):
    """daphne and a worker on a SQLite file of their own (the default setup), whatever database
    the suite runs on; dora may log in."""
    path = tmp_path / "site.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    env = {
        "DATABASE_URL": f"sqlite:///{path}",
        "MEDIA_ROOT": tmp_path / "media",
        **smtp_server.env(),
    }
    web = processes.start_daphne(tmp_path / "web.log", **env)
    worker = processes.start_worker(tmp_path / "worker.log", **env)
    yield web, worker, path
    web.stop()
    worker.stop()


def test_sqlite_stays_writable_for_others_during_an_import(sqlite_site, tmp_path):
    web, worker, path = sqlite_site
    visitor = Visitor(web.url)
    visitor.log_in("dora", PASSWORD)
    archive = write_archive(tmp_path / "posts.json", posts(300_000))
    waits = []
    stop = threading.Event()

    def write_elsewhere():
        other = sqlite3.connect(path, timeout=20, isolation_level=None)
        while not stop.is_set():
            started = time.monotonic()
            other.execute("BEGIN IMMEDIATE")
            waits.append(time.monotonic() - started)
            other.execute("CREATE TABLE IF NOT EXISTS probe (x)")
            other.execute("INSERT INTO probe VALUES (1)")
            other.execute("COMMIT")
            time.sleep(0.01)
        other.close()

    def importing(task_id):
        with sqlite3.connect(path, timeout=20) as reader:
            query = "SELECT 1 FROM microblog_post WHERE import_task_id = ? LIMIT 1"
            return reader.execute(query, [task_id]).fetchone() is not None

    task_id = visitor.start_import(archive)
    wait_until(lambda: importing(task_id), 60, interval=0.01)
    writing_since = time.monotonic()
    writer = threading.Thread(target=write_elsewhere)
    writer.start()
    try:
        state = finished(visitor, task_id)
        writing = time.monotonic() - writing_since
    finally:
        stop.set()
        writer.join()
    assert state["status"] == "succeeded", worker.output()
    # Short write transactions: the other writer got in again and again, and never waited more
    # than a tenth of the import's writing (one transaction for all of it would make it wait
    # all of it). A ratio, so that a busy machine slows both sides alike; on an idle one the
    # longest wait was ~55 ms.
    assert len(waits) > 50
    assert max(waits) < writing / 10, (sorted(waits)[-5:], writing)


def test_an_archive_round_trips_on_the_default_sqlite_setup_whatever_the_suite_runs_on(
    sqlite_site, tmp_path
):
    """Import hostile texts into the SQLite site, export them back byte-exact, and import that
    export again: nothing is added twice (the suite's own database may be PostgreSQL)."""
    web, worker, _ = sqlite_site
    dora = Visitor(web.url)
    dora.log_in("dora", PASSWORD)
    original = posts(500)
    archive = write_archive(tmp_path / "flask.json", original)

    state = finished(dora, dora.start_import(archive))
    assert state["status"] == "succeeded", worker.output()
    assert state["notice"] == "Imported 500 posts; skipped 0 already present."

    export_id = dora.start_export()
    assert finished(dora, export_id)["status"] == "succeeded", worker.output()
    exported = tmp_path / "posts.json"
    exported.write_bytes(dora.get(f"/exports/{export_id}/download").content)
    assert json.loads(exported.read_text(encoding="utf-8"))["posts"] == original

    state = finished(dora, dora.start_import(exported))
    assert state["status"] == "succeeded", (state, worker.output()[-3000:])
    assert state["notice"] == "Imported 0 posts; skipped 500 already present."
