"""Staff see every task in the admin but change none by hand: they act through actions that
take the users' path (usertasks/transitions.py), and the owner's open pages see the result."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from exports.retention import purge_expired_exports
from testkit.communicators import communicator, connected_past_snapshot, run
from testkit.factories import TaskFactory, UserFactory
from usertasks import reasons
from usertasks.models import Task
from usertasks.payloads import task_state
from usertasks.progress import publish

pytestmark = pytest.mark.django_db(transaction=True)
CHANGELIST = "/admin/usertasks/task/"


@pytest.fixture
def staff_client():
    """A browser of its own: ``client`` is the owner's (ws_headers logs it in)."""
    staff = Client()
    staff.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    return staff


def owner_sees(ws_headers, user, act):
    """Run ``act()`` while ``user`` has a page open; returns the task messages it received.

    A marker state published once ``act()`` has returned reaches the page after everything
    ``act()`` published (one group's messages keep their order): the page has had all of them
    when the marker arrives."""
    headers = ws_headers(user)

    def act_then_mark():
        act()
        marker = TaskFactory(user=user, status=Task.Status.SUCCEEDED)
        publish(user.pk, task_state(marker))
        return marker.pk

    async def body():
        ws = communicator(headers)
        await connected_past_snapshot(ws)
        marker = await sync_to_async(act_then_mark)()
        received = []
        while (task := (await ws.receive_json_from(timeout=10))["task"])["id"] != marker:
            received.append(task)
        await ws.disconnect()
        return received

    return run(body)


def test_staff_cannot_add_a_task(staff_client):
    assert staff_client.get(f"{CHANGELIST}add/").status_code == 403
    response = staff_client.post(f"{CHANGELIST}add/", {"id": "", "status": "queued"})
    assert response.status_code == 403
    assert not Task.objects.exists()


def test_staff_cannot_edit_or_delete_a_task_but_can_read_it_in_their_language(staff_client, user):
    task = TaskFactory(user=user, status=Task.Status.FAILED, error_code=reasons.DISK_FULL)

    page = staff_client.get(f"{CHANGELIST}{task.pk}/change/")
    assert page.status_code == 200
    assert "The server has no room to store your export right now." in page.text
    assert 'name="status"' not in page.text
    spanish = staff_client.get(f"{CHANGELIST}{task.pk}/change/", HTTP_ACCEPT_LANGUAGE="es")
    assert "El servidor no tiene espacio para guardar tu exportación" in spanish.text

    edit = staff_client.post(f"{CHANGELIST}{task.pk}/change/", {"status": "running"})
    delete = staff_client.post(f"{CHANGELIST}{task.pk}/delete/", {"post": "yes"})

    assert (edit.status_code, delete.status_code) == (403, 403)
    assert Task.objects.get(pk=task.pk).status == Task.Status.FAILED


def test_the_list_filters_by_status_and_kind_and_finds_by_user_or_id(staff_client, user):
    task = TaskFactory(user=user, status=Task.Status.FAILED)
    TaskFactory(status=Task.Status.SUCCEEDED)

    page = staff_client.get(f"{CHANGELIST}?status__exact=failed&kind=export_posts")
    assert [t.pk for t in page.context["cl"].result_list] == [task.pk]
    by_user = staff_client.get(f"{CHANGELIST}?q={user.username}")
    assert [t.pk for t in by_user.context["cl"].result_list] == [task.pk]
    by_id = staff_client.get(f"{CHANGELIST}?q={task.pk}")
    assert [t.pk for t in by_id.context["cl"].result_list] == [task.pk]


def test_cancelling_from_the_admin_reaches_the_owners_open_page(
    staff_client, user, redis_client, ws_headers
):
    active = TaskFactory(user=user, status=Task.Status.RUNNING)
    done = TaskFactory(status=Task.Status.SUCCEEDED)

    def act():
        staff_client.post(
            CHANGELIST, {"action": "cancel_selected", "_selected_action": [active.pk, done.pk]}
        )

    (message,) = owner_sees(ws_headers, user, act)

    assert (message["id"], message["status"]) == (active.pk, "cancelled")
    assert message["title"] == "Export of your posts — cancelled"
    assert message["notice"] == "Cancelled by the site's staff."
    active.refresh_from_db()
    assert (active.status, active.notice_code) == ("cancelled", reasons.CANCELLED_BY_STAFF)
    assert active.finished_at is not None
    assert Task.objects.get(pk=done.pk).status == Task.Status.SUCCEEDED


def test_retrying_from_the_admin_starts_a_new_task_the_owner_sees_queued(
    staff_client, user, redis_client, ws_headers
):
    failed = TaskFactory(user=user, status=Task.Status.FAILED)

    def act():
        staff_client.post(CHANGELIST, {"action": "retry_failed", "_selected_action": [failed.pk]})

    (message,) = owner_sees(ws_headers, user, act)

    retried = Task.objects.get(status=Task.Status.QUEUED)
    assert retried.user == user and retried.pk != failed.pk
    assert (message["id"], message["status"]) == (retried.pk, "queued")


def test_purging_a_file_from_the_admin_takes_the_download_link_off_the_owners_page(
    staff_client, user, redis_client, ws_headers
):
    task = TaskFactory(user=user, status=Task.Status.SUCCEEDED, progress=100)
    task.result.save("posts.json", ContentFile(b'{"posts": []}'))
    assert task.download_url

    selected = {"action": "purge_files", "_selected_action": [task.pk]}
    asked = staff_client.post(CHANGELIST, selected)  # Django's delete action asks first too
    assert asked.status_code == 200
    assert escape(f"Export of {user.username}'s posts") in asked.text
    assert 'name="post" value="yes"' in asked.text
    assert Task.objects.get(pk=task.pk).purged_at is None
    assert task.result.storage.exists(task.result.name)

    def act():
        done = staff_client.post(CHANGELIST, {**selected, "post": "yes"}, follow=True)
        assert "Deleted 1 file." in done.text

    (message,) = owner_sees(ws_headers, user, act)

    assert (message["id"], message["download_url"]) == (task.pk, None)
    assert message["notice"] == "The site's staff deleted the file."
    assert message["title"] == "Export of your posts — file deleted"
    task.refresh_from_db()
    assert task.purged_at is not None
    assert not task.result.storage.exists(task.result.name)


def test_the_owner_is_told_staff_deleted_the_file_not_that_it_expired(
    staff_client, client, user, redis_client
):
    deleted = TaskFactory(user=user, status=Task.Status.SUCCEEDED, progress=100)
    deleted.result.save("posts.json", ContentFile(b'{"posts": []}'))
    expired = TaskFactory(
        user=user,
        status=Task.Status.SUCCEEDED,
        progress=100,
        finished_at=timezone.now() - timedelta(days=30),
    )
    expired.result.save("old.json", ContentFile(b'{"posts": []}'))
    staff_client.post(
        CHANGELIST, {"action": "purge_files", "_selected_action": [deleted.pk], "post": "yes"}
    )
    purge_expired_exports()
    client.force_login(user)

    history = client.get("/exports/").text
    assert escape("The site's staff deleted the file.") in history
    assert "The file was deleted at the end of its retention period." in history
    gone = client.get(f"/exports/{deleted.pk}/download")
    assert gone.status_code == 410
    assert "The site's staff deleted this file (" in gone.text
    assert "expired" not in gone.text
    old = client.get(f"/exports/{expired.pk}/download")
    assert old.status_code == 410
    assert "This export has expired" in old.text
    assert "Export files are kept for 7 days" in old.text
    spanish = client.get(f"/exports/{deleted.pk}/download", HTTP_ACCEPT_LANGUAGE="es")
    assert "El personal del sitio borró este archivo" in spanish.text


def test_the_result_link_downloads_the_file_for_staff_only(staff_client, client, user):
    task = TaskFactory(user=user, status=Task.Status.SUCCEEDED, progress=100, result_size=13)
    task.result.save("posts.json", ContentFile(b'{"posts": []}'))
    link = f"{CHANGELIST}{task.pk}/download/"

    page = staff_client.get(f"{CHANGELIST}{task.pk}/change/")
    assert f'href="{link}"' in page.text
    assert "/media/" not in page.text
    download = staff_client.get(link)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b'{"posts": []}'
    assert "posts.json" in download["Content-Disposition"]

    client.force_login(user)  # the owner, not staff: the admin's link is not theirs
    refused = client.get(link)
    assert refused.status_code == 302 and "/admin/login/" in refused["Location"]
    client.logout()
    assert client.get(link).status_code == 302


def test_actions_say_what_they_did_and_why_they_skipped_the_rest(staff_client, user):
    done = TaskFactory(user=user, status=Task.Status.SUCCEEDED)
    imported = TaskFactory(user=user, kind="import_posts", status=Task.Status.FAILED)
    both = {"_selected_action": [done.pk, imported.pk]}

    def said(action, data=(), **headers):
        data = {"action": action, **both, **dict(data)}
        response = staff_client.post(CHANGELIST, data, follow=True, **headers)
        return [str(message) for message in response.context["messages"]]

    assert said("cancel_selected") == [
        "2 tasks were not cancelled because they had already finished."
    ]
    assert said("retry_failed") == [
        "1 task was not retried because only failed tasks can be retried.",
        "1 task was not retried because tasks of its kind cannot be started again.",
    ]
    assert said("purge_files", {"post": "yes"}) == [
        "2 tasks were skipped because they have no file."
    ]
    assert said("cancel_selected", HTTP_ACCEPT_LANGUAGE="es") == [
        "2 tareas no se cancelaron porque ya habían terminado."
    ]
    assert said("retry_failed", HTTP_ACCEPT_LANGUAGE="es") == [
        "1 tarea no se reintentó porque solo se pueden reintentar las tareas fallidas.",
        "1 tarea no se reintentó porque las tareas de su tipo no se pueden volver a iniciar.",
    ]


def test_the_list_describes_tasks_for_staff_with_reason_and_readable_duration(staff_client, user):
    started = timezone.now() - timedelta(minutes=5)
    TaskFactory(
        user=user,
        status=Task.Status.FAILED,
        error_code=reasons.TIMEOUT,
        started_at=started,
        finished_at=started + timedelta(seconds=0.366839),
    )

    page = staff_client.get(CHANGELIST)
    assert escape(f"Export of {user.username}'s posts") in page.text
    assert "Export of your posts" not in page.text
    assert "The export took too long and was stopped" in page.text
    assert "0.4 s" in page.text and "0:00:00" not in page.text
    assert '<a href="?kind=import_posts">Import</a>' in page.text
    spanish = staff_client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="es")
    assert "0,4 s" in spanish.text


def test_django_rq_dashboard_is_for_staff_and_linked_from_the_admin(staff_client, user):
    assert staff_client.get("/admin/django-rq/").status_code == 200
    assert "/admin/django_rq/dashboard/" in staff_client.get("/admin/").content.decode()

    staff_client.logout()
    staff_client.force_login(user)
    response = staff_client.get("/admin/django-rq/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_an_admin_address_from_before_the_move_leads_to_the_same_page(staff_client, user):
    task = TaskFactory(user=user, status=Task.Status.FAILED)
    response = staff_client.get(f"/admin/exports/task/{task.pk}/change/?_changelist_filters=x")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/usertasks/task/{task.pk}/change/?_changelist_filters=x"
    assert staff_client.get(response["Location"]).status_code == 200
