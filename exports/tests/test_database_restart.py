"""The database restarts: exports say so, queued ones wait for it, pages answer 503.

A restart ends every session and refuses new ones for a while; ``database.down()`` does the
same to the test database (``ALLOW_CONNECTIONS false``, then ``pg_terminate_backend``), keeping
only the test's own session, which lets the others in again.
"""

from contextlib import nullcontext

import pytest
from django.db import connection
from django.utils import translation
from rq.job import Job, JobStatus

from blog.seeding import seed_posts
from exports.services import export_launch
from testkit import database, processes
from testkit.factories import UserFactory
from testkit.visitor import Visitor
from testkit.waiting import wait_until
from usertasks import reasons
from usertasks.models import Task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]

DOWN_PAGE_TEXT = {
    "en": "The site is briefly unavailable",
    "es": "El sitio no está disponible por un momento",
}


@pytest.fixture
def postgresql(settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: DATABASE_URL=postgres://... make test (as CI runs)")
    settings.TASKS_PER_HOUR = 0


def start_worker(tmp_path, media_root, smtp_server):
    return processes.start_listening_worker(
        tmp_path / "worker.log",
        MEDIA_ROOT=media_root,
        **smtp_server.env(),
        **processes.FAST_DETECTION,
    )


def settled(task):
    task.refresh_from_db()
    return not task.is_active


def test_an_export_running_when_the_database_goes_away_fails_with_that_reason(
    postgresql, user, redis_client, media_root, smtp_server, tmp_path
):
    seed_posts(author=user, count=200_000, seed=5)
    worker = start_worker(tmp_path, media_root, smtp_server)
    try:
        task = export_launch(user=user)
        wait_until(lambda: Task.objects.get(pk=task.pk).done > 0, 60, 0.01)
        with database.down():
            # Up again only once the job has met the outage and decided what to do about it.
            wait_until(lambda: f"export {task.pk} failed" in worker.output(), 60)

        wait_until(lambda: settled(task), 60)
        assert task.status == Task.Status.FAILED, worker.output()[-3000:]
        assert task.error_code == reasons.DATABASE_UNAVAILABLE, worker.output()[-3000:]
        with translation.override("es"):
            assert task.error.startswith("La base de datos no estuvo disponible por un momento")
        assert not list((media_root / "exports" / "tmp").glob("*.part"))
        other = UserFactory()  # a small export: the worker's recovery is the point
        seed_posts(author=other, count=10, seed=7)
        again = export_launch(user=other)
        wait_until(lambda: settled(again), 120)
        assert again.status == Task.Status.SUCCEEDED, worker.output()[-3000:]
    finally:
        worker.stop()


def test_an_export_queued_while_the_database_is_down_waits_for_it_and_succeeds(
    postgresql, user, redis_client, media_root, smtp_server, tmp_path
):
    seed_posts(author=user, count=1_000, seed=6)
    worker = start_worker(tmp_path, media_root, smtp_server)
    try:
        with database.down():
            task = export_launch(user=user)  # through the test's own session
            # A worker has taken the job and met the outage: it waits (or, lacking that, failed it).
            wait_until(
                lambda: (
                    "database is unreachable" in worker.output()
                    or Job.fetch(task.pk, connection=redis_client).get_status() == JobStatus.FAILED
                ),
                60,
            )
        wait_until(lambda: settled(task), 60)
        assert task.status == Task.Status.SUCCEEDED, worker.output()[-3000:]
        assert task.done == 1_000
    finally:
        worker.stop()


@pytest.mark.parametrize("language", ["en", "es"])
def test_pages_answer_a_readable_503_while_the_database_is_down(
    language, client, user, redis_client, media_root, tmp_path
):
    task = export_launch(user=user)
    client.force_login(user)  # a session cookie: each page must read the session's row
    if connection.vendor == "postgresql":
        web = processes.start_daphne(tmp_path / "web.log", MEDIA_ROOT=media_root)
        outage = database.down()
    else:  # SQLite cannot go away; a database file nobody can open does the same to pages
        unreachable = f"sqlite:///{tmp_path}/no-such-directory/db.sqlite3"
        web = processes.start_daphne(
            tmp_path / "web.log", MEDIA_ROOT=media_root, DATABASE_URL=unreachable
        )
        outage = nullcontext()
    visitor = Visitor(web.url)
    visitor.session.cookies.set("sessionid", client.cookies["sessionid"].value)
    headers = {"Accept-Language": language}
    try:
        with outage:
            pages = {path: visitor.get(path, headers=headers) for path in ("/", "/explore/")}
            status = visitor.get(f"/exports/{task.pk}/status", headers=headers)
            health = visitor.get("/healthz", headers=headers)
        for path, response in pages.items():
            assert response.status_code == 503, (path, response.status_code, web.output()[-2000:])
            assert response.headers["Retry-After"].isdigit()
            assert response.headers["Content-Type"].startswith("text/html")
            assert DOWN_PAGE_TEXT[language] in response.text
            assert "Traceback" not in response.text
        assert status.status_code == 503
        assert status.headers["Retry-After"].isdigit()
        assert status.json()["status"] == "unavailable"
        assert health.status_code == 503
        assert health.json()["database"] == "unreachable"
    finally:
        web.stop()
