"""Export files never outlive their Task row for long: a deleted user's files go with them, and
files no row claims are swept by the workers' maintenance pass once they are old enough."""

import os
import time
import uuid

import pytest
from django.core.files.storage import default_storage

from blog.seeding import seed_posts
from exports.retention import ORPHAN_GRACE
from exports.services import export_launch
from testkit.factories import TaskFactory, UserFactory
from testkit.waiting import wait_until
from usertasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def exported(user):
    task = export_launch(user=user)
    wait_until(lambda: not Task.objects.get(pk=task.pk).is_active, 60)
    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED
    path = default_storage.path(task.result.name)
    assert os.path.exists(path)
    return path


def test_deleting_a_user_in_the_admin_deletes_their_export_files(
    worker, client, user, other_user, settings
):
    settings.TASKS_PER_HOUR = 0
    seed_posts(author=user, count=50, seed=8)
    own = [exported(user), exported(user)]
    others = exported(other_user)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Task.objects.filter(user_id=user.pk).exists()
    assert not any(os.path.exists(path) for path in own)
    assert os.path.exists(others)


def stored_orphan(media_root, age_seconds):
    """A finished export file whose Task row is gone, written ``age_seconds`` ago."""
    path = media_root / "exports" / "9999" / f"{uuid.uuid4().hex}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'{"posts": []}\n')
    written = time.time() - age_seconds
    os.utime(path, (written, written))
    return path


def test_the_maintenance_pass_sweeps_old_orphaned_export_files_and_leaves_fresh_ones(
    request, user, media_root, redis_client
):
    seed_posts(author=user, count=10, seed=9)
    old = stored_orphan(media_root, ORPHAN_GRACE.total_seconds() + 60)
    fresh = stored_orphan(media_root, 0)  # e.g. being stored right now
    claimed = stored_orphan(media_root, ORPHAN_GRACE.total_seconds() + 60)
    TaskFactory(id=claimed.stem, user=user, status=Task.Status.SUCCEEDED)  # its row is there
    # Start the worker only now: it purges and sweeps in the maintenance pass it runs at start.
    worker = request.getfixturevalue("worker")

    wait_until(lambda: "removed 1 orphaned export file(s)" in worker.output(), 30)

    assert not old.exists()
    assert fresh.exists()
    assert claimed.exists()
