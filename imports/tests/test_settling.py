"""What the worker's reconciliation does for imports whose job could not clean up (killed)."""

import os
import time

import pytest

from blog.models import Post
from imports import uploads
from imports.models import ImportRun
from imports.tests.leftovers import leftover_uploads
from testkit.factories import TaskFactory
from usertasks.models import Task
from usertasks.reconciliation import reconcile_active_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def killed_import(user, status, posts=3):
    """An import whose work-horse died after writing ``posts`` posts: its row says ``status``."""
    task = TaskFactory(user=user, kind="import_posts", status=status)
    ImportRun.objects.create(task_id=task.pk)
    for i in range(posts):
        Post.objects.create(author=user, body=f"imported {i}", import_task_id=task.pk)
    uploads.path_of(task.pk).write_bytes(b"{}")
    return task


def test_after_a_killed_job_its_posts_and_upload_are_gone_unless_it_succeeded(user, redis_client):
    Post.objects.create(author=user, body="mine")
    cancelled = killed_import(user, Task.Status.CANCELLED)
    succeeded = killed_import(user, Task.Status.SUCCEEDED, posts=2)

    reconcile_active_tasks(connection=redis_client, task_ids=[cancelled.pk, succeeded.pk])

    assert sorted(Post.objects.values_list("body", flat=True)) == [
        "imported 0",
        "imported 1",
        "mine",
    ]
    assert not Post.objects.filter(import_task_id=cancelled.pk).exists()
    assert leftover_uploads() == []
    assert not ImportRun.objects.exists()


def test_a_maintenance_pass_finishes_what_a_killed_worker_left(user, redis_client):
    failed = killed_import(user, Task.Status.FAILED)
    running = killed_import(user, Task.Status.RUNNING)  # its job may still run: left alone
    unclaimed = uploads.upload_dir() / "0123456789abcdef0123456789abcdef.json"
    unclaimed.write_bytes(b"{}")
    incoming = uploads.upload_dir() / "x.incoming"
    incoming.write_bytes(b"{}")
    fresh_incoming = uploads.upload_dir() / "y.incoming"
    fresh_incoming.write_bytes(b"{}")
    hour_ago = time.time() - 3700
    for path in (unclaimed, incoming):
        os.utime(path, (hour_ago, hour_ago))

    reconcile_active_tasks(connection=redis_client)  # a maintenance pass

    assert not Post.objects.filter(import_task_id=failed.pk).exists()
    assert Post.objects.filter(import_task_id=running.pk).count() == 3
    assert sorted(ImportRun.objects.values_list("pk", flat=True)) == [running.pk]
    assert leftover_uploads() == sorted([f"{running.pk}.json", "y.incoming"])
