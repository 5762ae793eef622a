"""What the release before the task app wrote, for the upgrade test (usertasks/tests/).

Runs inside that release's checkout through its own ``manage.py shell`` (testkit/upgrade.py),
with its models: the Task model still lives in the exports app there. Never imported by the
current code. ``SEED_PHASE=launch`` starts an export that the old release's worker then runs;
``SEED_PHASE=finish`` writes the rest and prints what it made as one line of JSON.
"""

import json
import os
import uuid

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from exports.models import Task
from microblog.models import Post

from exports import reasons, transitions
from exports.services import export_launch

User = get_user_model()
PASSWORD = os.environ["SEED_PASSWORD"]


def launch():
    owner = User.objects.create_user("owner", "owner@example.com", PASSWORD)
    Post.objects.bulk_create(Post(author=owner, body=f"Post {n} of the owner ✓") for n in range(40))
    carol = User.objects.create_user("carol", "carol@example.com", PASSWORD)
    Post.objects.bulk_create(Post(author=carol, body=f"Carol's post {n}") for n in range(25))
    export_launch(user=owner)


def finish():
    owner = User.objects.get(username="owner")
    finished = Task.objects.get(user=owner, status=Task.Status.SUCCEEDED)
    failed = transitions.create_task(task_id=uuid.uuid4().hex, user=owner, name="export_posts")
    transitions.move(failed, to=Task.Status.FAILED, error_code=reasons.WORKER_LOST)

    viewer = User.objects.create_user("viewer", "viewer@example.com", PASSWORD, is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(content_type__app_label="exports", codename="view_task")
    )
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    task_type = ContentType.objects.get_for_model(Task)
    LogEntry.objects.create(
        user=root,
        content_type=task_type,
        object_id=failed.pk,
        object_repr=str(failed),
        action_flag=CHANGE,
        change_message="Looked into the lost worker",
    )

    queued = export_launch(user=User.objects.get(username="carol"))  # no worker runs it here
    summary = {
        "finished": finished.pk,
        "file": finished.result.name,
        "failed": failed.pk,
        "queued": queued.pk,
        "task_content_type": task_type.pk,
    }
    print(json.dumps(summary))


{"launch": launch, "finish": finish}[os.environ["SEED_PHASE"]]()
