"""Export endpoints: ownership, methods, CSRF, messages, download."""

import json

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from testkit.factories import TaskFactory
from usertasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def finished(user, media_root):
    task = TaskFactory(user=user, status=Task.Status.SUCCEEDED, progress=100)
    task.result.save("posts.json", ContentFile(b'{"posts": []}'))
    return task


def _messages(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_posting_to_exports_starts_an_export_and_redirects_back(logged_in, user, redis_client):
    response = logged_in.post("/exports/", {"next": f"/user/{user.username}/"}, follow=True)

    assert response.redirect_chain[-1][0] == f"/user/{user.username}/"
    assert Task.objects.get().status == Task.Status.QUEUED
    assert "Your export has started" in response.content.decode()
    assert 'data-task-id="' in response.content.decode()


def test_second_export_post_shows_the_in_progress_message(logged_in, user, redis_client):
    logged_in.post("/exports/")
    response = logged_in.post("/exports/", follow=True)

    assert "An export task is currently in progress" in response.content.decode()
    assert Task.objects.count() == 1


def test_export_button_shows_only_on_your_own_profile_and_is_disabled_while_active(
    logged_in, user, other_user, redis_client
):
    own = logged_in.get(f"/user/{user.username}/").content.decode()
    assert "Export your posts" in own and "disabled" not in own.split('id="export-button"')[1][:40]
    assert (
        "Export your posts" not in logged_in.get(f"/user/{other_user.username}/").content.decode()
    )

    logged_in.post("/exports/")
    own = logged_in.get(f"/user/{user.username}/").content.decode()
    assert "disabled" in own.split('id="export-button"')[1][:40]


def test_export_needs_a_csrf_token(user, redis_client):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    assert client.post("/exports/").status_code == 403
    assert not Task.objects.exists()


def test_anonymous_users_are_sent_to_log_in(client, user):
    task = TaskFactory(user=user)
    for url in ("/exports/", f"/exports/{task.pk}/status", f"/exports/{task.pk}/download"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.post(f"/exports/{task.pk}/cancel").status_code == 302


def test_history_lists_only_your_tasks(logged_in, user, other_user):
    TaskFactory(user=user, status=Task.Status.FAILED, error_code="timeout")
    TaskFactory(user=other_user, status=Task.Status.FAILED, error_code="disk_full")

    page = logged_in.get("/exports/").content.decode()

    assert "took too long" in page and "no room" not in page


def test_status_is_the_task_object_as_json(logged_in, user):
    task = TaskFactory(user=user, status=Task.Status.RUNNING, progress=30)

    data = logged_in.get(f"/exports/{task.pk}/status").json()

    assert data["id"] == task.pk
    assert (data["status"], data["progress"], data["download_url"]) == ("running", 30, None)
    assert data["updated_at"]


@pytest.mark.parametrize("action", ["status", "download"])
def test_another_users_task_is_not_found(logged_in, other_user, action):
    task = TaskFactory(user=other_user, status=Task.Status.SUCCEEDED)

    assert logged_in.get(f"/exports/{task.pk}/{action}").status_code == 404


def test_cancelling_another_users_task_is_not_found(logged_in, other_user):
    task = TaskFactory(user=other_user)

    assert logged_in.post(f"/exports/{task.pk}/cancel").status_code == 404
    task.refresh_from_db()
    assert task.status == Task.Status.QUEUED


@pytest.mark.parametrize(
    "junk", ["nope", "0" * 64, "../../etc/passwd", "%00", "x" * 500, "%F0%9F%8E%89"]
)
def test_junk_task_ids_are_not_found(logged_in, junk):
    assert logged_in.get(f"/exports/{junk}/status").status_code == 404
    assert logged_in.get(f"/exports/{junk}/download").status_code == 404
    assert logged_in.post(f"/exports/{junk}/cancel").status_code == 404


def test_cancel_only_by_post(logged_in, user, redis_client):
    task = TaskFactory(user=user)

    assert logged_in.get(f"/exports/{task.pk}/cancel").status_code == 405
    response = logged_in.post(f"/exports/{task.pk}/cancel", follow=True)

    task.refresh_from_db()
    assert task.status == Task.Status.CANCELLED
    assert "The export was cancelled." in response.content.decode()


def test_owner_downloads_the_file_as_json(logged_in, finished):
    response = logged_in.get(f"/exports/{finished.pk}/download")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert 'filename="posts.json"' in response["Content-Disposition"]
    assert json.loads(b"".join(response.streaming_content)) == {"posts": []}


def test_unfinished_task_has_no_download(logged_in, user):
    task = TaskFactory(user=user, status=Task.Status.RUNNING)

    assert logged_in.get(f"/exports/{task.pk}/download").status_code == 404


def test_deleted_export_file_gives_a_clear_410_page(logged_in, finished):
    finished.result.storage.delete(finished.result.name)

    response = logged_in.get(f"/exports/{finished.pk}/download")

    assert response.status_code == 410
    assert "This export has expired" in response.content.decode()


def test_every_page_renders_the_users_current_tasks_as_progress_bars(logged_in, user):
    task = TaskFactory(user=user, status=Task.Status.RUNNING, progress=42)

    page = logged_in.get("/explore/").content.decode()

    assert f'data-task-id="{task.pk}"' in page
    assert 'role="progressbar"' in page and 'aria-valuenow="42"' in page
    assert f'action="/exports/{task.pk}/cancel"' in page
