"""Export files are kept EXPORT_RETENTION_DAYS, then purged by workers or `purge_exports`."""

import io
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from exports.retention import purge_expired_exports
from testkit.factories import TaskFactory, UserFactory
from usertasks.models import Task
from usertasks.reconciliation import reconcile_active_tasks
from usertasks.workers import PURGE_LOCK

pytestmark = pytest.mark.django_db(transaction=True)


def finished_export(user, days_ago):
    """A succeeded export of ``user`` whose file was written ``days_ago`` days ago."""
    finished = timezone.now() - timedelta(days=days_ago)
    task = TaskFactory(
        user=user,
        status=Task.Status.SUCCEEDED,
        progress=100,
        started_at=finished - timedelta(seconds=5),
        finished_at=finished,
    )
    task.result.save(f"{task.pk}.json", ContentFile(b'{"posts": []}'))
    return task


def part_file(media_root, task_id):
    tmp_dir = media_root / "exports" / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    path = tmp_dir / f"{task_id}-k3x9q.part"
    path.write_bytes(b'{"posts": [\n')
    return path


def test_an_export_past_the_retention_period_loses_its_file_and_is_marked_purged(user):
    expired = finished_export(user, days_ago=8)
    recent = finished_export(user, days_ago=6)

    assert purge_expired_exports() == 1

    expired.refresh_from_db()
    recent.refresh_from_db()
    assert not default_storage.exists(expired.result.name)
    assert expired.purged_at is not None
    assert expired.download_url is None
    assert default_storage.exists(recent.result.name)
    assert recent.purged_at is None
    assert recent.download_url is not None


def test_the_retention_period_is_the_export_retention_days_setting(user, settings):
    settings.EXPORT_RETENTION_DAYS = 2
    expired = finished_export(user, days_ago=3)
    recent = finished_export(user, days_ago=1)

    purge_expired_exports()

    assert not default_storage.exists(expired.result.name)
    assert default_storage.exists(recent.result.name)


def test_a_purged_export_is_not_purged_again(user):
    expired = finished_export(user, days_ago=30)
    purge_expired_exports()
    first = Task.objects.get(pk=expired.pk).purged_at

    assert purge_expired_exports() == 0
    assert Task.objects.get(pk=expired.pk).purged_at == first


def test_the_purge_exports_command_purges_and_says_how_many(user):
    expired = finished_export(user, days_ago=8)
    recent = finished_export(user, days_ago=1)
    out = io.StringIO()

    call_command("purge_exports", stdout=out)

    assert out.getvalue().strip() == "Purged 1 export file(s)."
    assert Task.objects.get(pk=expired.pk).purged_at is not None
    assert Task.objects.get(pk=recent.pk).purged_at is None


def test_downloading_a_purged_export_answers_410_with_the_expired_page(logged_in, user):
    expired = finished_export(user, days_ago=8)
    purge_expired_exports()

    response = logged_in.get(f"/exports/{expired.pk}/download")

    assert response.status_code == 410
    assert "This export has expired" in response.content.decode()
    assert response.get("Content-Disposition") is None


def test_a_purged_export_of_another_user_is_still_not_found(logged_in, other_user):
    theirs = finished_export(other_user, days_ago=8)
    purge_expired_exports()

    assert logged_in.get(f"/exports/{theirs.pk}/download").status_code == 404


def test_admin_task_list_shows_purged_at_and_filters_by_it(client, user):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    expired = finished_export(user, days_ago=8)
    recent = finished_export(user, days_ago=1)
    purge_expired_exports()

    page = client.get("/admin/usertasks/task/")
    assert page.status_code == 200
    assert "column-purged" in page.content.decode()
    assert "By purged at" in page.content.decode()

    purged = client.get("/admin/usertasks/task/?purged_at__isempty=0")
    assert [task.pk for task in purged.context["cl"].result_list] == [expired.pk]
    kept = client.get("/admin/usertasks/task/?purged_at__isempty=1")
    assert [task.pk for task in kept.context["cl"].result_list] == [recent.pk]


def test_reconciliation_deletes_stale_part_files_and_keeps_those_of_active_tasks(
    user, other_user, media_root, redis_client
):
    running = TaskFactory(user=user, status=Task.Status.RUNNING)
    queued = TaskFactory(user=other_user, status=Task.Status.QUEUED)
    failed = TaskFactory(user=user, status=Task.Status.FAILED)
    cancelled = TaskFactory(user=other_user, status=Task.Status.CANCELLED)
    kept = [part_file(media_root, running.pk), part_file(media_root, queued.pk)]
    stale = [
        part_file(media_root, failed.pk),
        part_file(media_root, cancelled.pk),
        part_file(media_root, "0" * 32),  # its task row is gone altogether
    ]

    reconcile_active_tasks()  # the tasks are too young to judge; their files are not

    assert all(path.exists() for path in kept)
    assert not any(path.exists() for path in stale)


def test_a_worker_purges_expired_exports_on_its_own(request, user, redis_client):
    expired = finished_export(user, days_ago=30)
    recent = finished_export(user, days_ago=1)
    path = default_storage.path(expired.result.name)
    # Start the worker only now: it purges in the maintenance pass it runs at start-up.
    worker = request.getfixturevalue("worker")

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        expired.refresh_from_db()
        if expired.purged_at is not None:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the worker did not purge within 30 s:\n{worker.output()}")

    assert not default_storage.exists(expired.result.name), path
    assert default_storage.exists(recent.result.name)
    assert Task.objects.get(pk=recent.pk).purged_at is None
    # The purge lock keeps the other workers from purging again within the hour.
    assert redis_client.exists(PURGE_LOCK)
    assert worker.alive()
