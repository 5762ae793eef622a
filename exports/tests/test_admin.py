"""Staff inspect and manage tasks in the admin; the django-rq dashboard hangs off it."""

import pytest

from exports.models import Task
from microblog.testing.factories import TaskFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    return client


def test_task_list_shows_columns_and_filters_by_status_name_and_search(staff_client, user):
    task = TaskFactory(user=user, status=Task.Status.FAILED)
    TaskFactory(status=Task.Status.SUCCEEDED)

    page = staff_client.get("/admin/exports/task/?status__exact=failed&name=export_posts")
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    for column in ("user", "name", "status", "progress", "created", "duration"):
        assert column in page.content.decode().lower()

    by_user = staff_client.get(f"/admin/exports/task/?q={user.username}")
    assert [t.pk for t in by_user.context["cl"].result_list] == [task.pk]
    by_id = staff_client.get(f"/admin/exports/task/?q={task.pk}")
    assert [t.pk for t in by_id.context["cl"].result_list] == [task.pk]


def test_timing_fields_are_read_only(staff_client, user):
    task = TaskFactory(user=user)

    page = staff_client.get(f"/admin/exports/task/{task.pk}/change/").content.decode()

    for field in ("created_at", "started_at", "finished_at"):
        assert f'name="{field}"' not in page


def test_cancel_selected_action_cancels_active_tasks(staff_client, user, redis_client):
    active = TaskFactory(user=user, status=Task.Status.RUNNING)
    done = TaskFactory(status=Task.Status.SUCCEEDED)

    staff_client.post(
        "/admin/exports/task/",
        {"action": "cancel_selected", "_selected_action": [active.pk, done.pk]},
    )

    assert Task.objects.get(pk=active.pk).status == Task.Status.CANCELLED
    assert Task.objects.get(pk=done.pk).status == Task.Status.SUCCEEDED


def test_retry_failed_action_starts_a_new_export(staff_client, user, redis_client):
    failed = TaskFactory(user=user, status=Task.Status.FAILED)

    staff_client.post(
        "/admin/exports/task/", {"action": "retry_failed", "_selected_action": [failed.pk]}
    )

    assert Task.objects.filter(user=user, status=Task.Status.QUEUED).count() == 1


def test_django_rq_dashboard_is_for_staff_and_linked_from_the_admin(staff_client, client, user):
    assert staff_client.get("/admin/django-rq/").status_code == 200
    assert "/admin/django_rq/dashboard/" in staff_client.get("/admin/").content.decode()

    staff_client.logout()
    staff_client.force_login(user)
    response = staff_client.get("/admin/django-rq/")
    assert response.status_code == 302 and "/login/" in response["Location"]
