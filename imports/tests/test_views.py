"""Import endpoints: the form, launching, refusals, where uploads go."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from imports import uploads
from imports.tests.leftovers import leftover_uploads
from usertasks.models import Task
from usertasks.services import TaskError, retry_task

pytestmark = pytest.mark.django_db(transaction=True)


def archive(name="posts.json", content=b'{"posts": []}'):
    return SimpleUploadedFile(name, content, content_type="application/json")


def test_the_import_page_and_your_own_profile_show_the_form(logged_in, user, other_user):
    for path in ("/imports/", f"/user/{user.username}/"):
        page = logged_in.get(path).content.decode()
        assert 'enctype="multipart/form-data"' in page
        assert 'name="archive"' in page
        assert "Import posts" in page
    assert 'name="archive"' not in logged_in.get(f"/user/{other_user.username}/").content.decode()


def test_posting_an_archive_starts_an_import_and_stores_the_file_where_nothing_serves_it(
    logged_in, user, redis_client, media_root
):
    response = logged_in.post("/imports/", {"archive": archive(), "next": "/imports/"}, follow=True)

    task = Task.objects.get()
    assert (task.kind, task.status) == ("import_posts", Task.Status.QUEUED)
    assert "Your import has started." in response.content.decode()
    assert f'data-task-id="{task.pk}"' in response.content.decode()
    stored = uploads.path_of(task.pk)
    assert stored.read_bytes() == b'{"posts": []}'
    assert stored.parent == media_root / "private" / "imports"
    assert leftover_uploads() == [f"{task.pk}.json"]  # no provisional file left


def test_an_anonymous_upload_is_sent_to_log_in_and_nothing_of_it_is_stored():
    """CSRF's check, which reads the body, is on: it would have stored the file for nobody."""
    response = Client(enforce_csrf_checks=True).post(
        "/imports/", {"archive": archive(content=b'{"posts": []}' * 1000)}
    )

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/imports/")
    assert leftover_uploads() == []
    assert Task.objects.count() == 0


def test_a_second_import_is_refused_while_one_is_active_and_leaves_no_file(logged_in, redis_client):
    logged_in.post("/imports/", {"archive": archive()})
    response = logged_in.post("/imports/", {"archive": archive()}, follow=True)

    assert "An import task is currently in progress." in response.content.decode()
    assert Task.objects.count() == 1
    assert len(leftover_uploads()) == 1


def test_imports_share_the_rate_limit_rule(logged_in, user, redis_client, settings):
    settings.TASKS_PER_HOUR = 1
    logged_in.post("/imports/", {"archive": archive()})
    Task.objects.update(status=Task.Status.SUCCEEDED)
    response = logged_in.post("/imports/", {"archive": archive()}, follow=True)

    assert "You can start at most 1 import per hour." in response.content.decode()
    assert len(leftover_uploads()) == 1


def test_a_post_without_a_file_says_so(logged_in, redis_client):
    response = logged_in.post("/imports/", {}, follow=True)
    assert "Choose an archive file to import." in response.content.decode()
    assert not Task.objects.exists()


def test_a_file_over_the_limit_is_refused_even_without_the_asgi_guard(
    logged_in, redis_client, settings
):
    settings.IMPORT_MAX_BYTES = 5
    response = logged_in.post("/imports/", {"archive": archive()}, follow=True)
    assert "This file is too large: archives are limited to 5\xa0bytes." in (
        response.content.decode()
    )
    assert not Task.objects.exists()
    assert leftover_uploads() == []


def test_import_needs_a_csrf_token_and_a_login(user, redis_client):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/imports/", {"archive": archive()}).status_code == 403
    assert Client().post("/imports/", {"archive": archive()}).status_code == 302
    assert not Task.objects.exists()


def test_a_failed_import_cannot_be_retried_as_its_file_is_gone(logged_in, user, redis_client):
    logged_in.post("/imports/", {"archive": archive()})
    Task.objects.update(status=Task.Status.FAILED)
    with pytest.raises(TaskError, match="This kind of task cannot be retried"):
        retry_task(task=Task.objects.get())


def test_an_import_redis_refuses_to_queue_says_so_and_keeps_nothing(logged_in, redis_client):
    """A full Redis (maxmemory, noeviction) answers PING but refuses the job at the commit:
    the page said "Your import has started." over a task that had already failed."""
    redis_client.config_set("maxmemory", 1)  # below what an empty Redis uses
    try:
        response = logged_in.post("/imports/", {"archive": archive()}, follow=True)
    finally:
        redis_client.config_set("maxmemory", 0)

    page = response.content.decode()
    assert "Your import has started." not in page
    assert "The task could not be queued — please try again in a moment." in page
    task = Task.objects.get()
    assert (task.status, task.error_code) == (Task.Status.FAILED, "queue_failed")
    assert leftover_uploads() == []
