"""Upgrading a site written by the release before the task app: its data, files, e-mailed
links, staff permissions, admin history and queued jobs carry over (docs/operations.md,
"Upgrading from the release before the task app").

The old release (its commit, as released) migrates a database of the test's vendor and writes
to it with its own code and worker; the current code then runs ``migrate`` on that database
and serves it with a real daphne and a real worker.
"""

import re

import pytest
from rq.job import Job

from testkit import processes, upgrade
from testkit.factories import PASSWORD
from testkit.visitor import Visitor
from testkit.waiting import wait_until
from usertasks.reconciliation import on_job_failure

# The last release before the task system left the exports app.
OLD_RELEASE = "3c182e4"
FINAL = ("succeeded", "failed", "cancelled")


@pytest.fixture
def old_site(tmp_path, media_root, redis_client, django_db_setup, django_db_blocker):
    """The old release's database (written by it) and media folder, and what it wrote."""
    tree = upgrade.checkout(OLD_RELEASE, tmp_path / "old-release")
    with django_db_blocker.unblock(), upgrade.scratch_database(tmp_path) as database_url:
        old = upgrade.OldRelease(
            tree,
            database_url=database_url,
            media_root=media_root,
            SECRET_KEY="old-release-" + "x" * 40,
            EXPORTS_PER_HOUR=0,
            EXPORT_ATTACHMENT_MAX_BYTES=0,  # the e-mail links the file rather than attaching it
        )
        old.manage("migrate", "--noinput")
        old.seed("launch", SEED_PASSWORD=PASSWORD)
        old.manage("rqworker", "--burst")
        written = upgrade.last_json_line(old.seed("finish", SEED_PASSWORD=PASSWORD))
        written["mail"] = old.mail()
        written["database_url"] = database_url
        yield written


@pytest.mark.slow
@pytest.mark.longest  # builds and runs the previous release first: about a minute on a busy run
def test_a_site_of_the_previous_release_upgrades_with_its_tasks_files_links_and_jobs(
    old_site, media_root, redis_client, smtp_server, tmp_path, django_db_blocker
):
    exported = (media_root / old_site["file"]).read_bytes()
    assert old_site["file"].startswith("exports/") and b"Post 39 of the owner" in exported
    # The link the owner was e-mailed (in the text and the HTML part).
    [link] = set(
        re.findall(r"https?://[^\s\"]+?(/exports/[0-9a-f]{32}/download)", "".join(old_site["mail"]))
    )
    assert link == f"/exports/{old_site['finished']}/download"
    queued = Job.fetch(old_site["queued"], connection=redis_client)
    assert queued.get_status() == "queued"
    # What Redis holds for the job (RQ keeps no public accessor for the dotted path).
    stored_callback = redis_client.hget(queued.key, "failure_callback_name")
    assert stored_callback == b"exports.reconciliation.on_job_failure"

    database_url = old_site["database_url"]
    processes.manage("migrate", "--noinput", DATABASE_URL=database_url)

    # Resolved by the current code, the old path is the current failure callback.
    assert Job.fetch(old_site["queued"], connection=redis_client).failure_callback is on_job_failure
    with django_db_blocker.unblock(), upgrade.open_database(database_url) as database:
        # The content type moved with the model: permissions and history point at it still.
        assert upgrade.rows(
            database,
            "SELECT app_label, model FROM django_content_type WHERE id = %s",
            [old_site["task_content_type"]],
        ) == [("usertasks", "task")]
        assert (
            upgrade.rows(database, "SELECT id FROM django_content_type WHERE app_label = 'exports'")
            == []
        )
        stored = dict(upgrade.rows(database, "SELECT id, kind FROM exports_task"))
        assert stored == {
            old_site["finished"]: "export_posts",
            old_site["failed"]: "export_posts",
            old_site["queued"]: "export_posts",
        }

    # Mail goes to a local SMTP server: the file backend would write into this checkout's var/.
    env = {"DATABASE_URL": database_url, "MEDIA_ROOT": media_root, **smtp_server.env()}
    site = processes.start_daphne(tmp_path / "daphne.log", **env)
    try:
        owner = Visitor(site.url)
        owner.log_in("owner", PASSWORD)
        download = owner.get(link)
        assert download.status_code == 200
        assert download.content == exported

        viewer = Visitor(site.url)
        viewer.log_in("viewer", PASSWORD)
        listing = viewer.get("/admin/usertasks/task/")
        assert listing.status_code == 200
        for task_id in (old_site["finished"], old_site["failed"]):
            assert f"/admin/usertasks/task/{task_id}/change/" in listing.text
        change_url = f"/admin/usertasks/task/{old_site['failed']}/change/"
        opened = viewer.get(change_url)
        assert opened.status_code == 200
        assert "The worker stopped unexpectedly" in opened.text
        assert 'name="_save"' not in opened.text  # view only
        assert viewer.post(change_url, {"_save": "Save"}).status_code == 403
        history = viewer.get(f"/admin/usertasks/task/{old_site['failed']}/history/")
        assert history.status_code == 200
        assert "Looked into the lost worker" in history.text
    finally:
        site.stop()

    with (
        processes.running_worker(tmp_path / "worker.log", **env),
        django_db_blocker.unblock(),
        upgrade.open_database(database_url) as database,
    ):

        def queued_task():
            return upgrade.rows(
                database,
                "SELECT status, error_code, result FROM exports_task WHERE id = %s",
                [old_site["queued"]],
            )[0]

        wait_until(lambda: queued_task()[0] in FINAL, timeout=60)
        status, error_code, result = queued_task()
    # It ran; had it failed, it would say why.
    assert (status, error_code) == ("succeeded", "") or (status == "failed" and error_code)
    if status == "succeeded":
        assert b"Carol's post 24" in (media_root / result).read_bytes()
        wait_until(lambda: smtp_server.messages, timeout=30)  # sent once the file is stored
        assert [message["To"] for message in smtp_server.messages] == ["carol@example.com"]
