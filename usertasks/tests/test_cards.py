"""The task cards above every page: which ones show, dismissing them, and what a refusal says."""

import re
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from testkit.communicators import communicator, connected_past_snapshot, run
from testkit.factories import TaskFactory
from usertasks import transitions
from usertasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)
FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}


def finished(user, minutes_ago=1, **fields):
    moment = timezone.now() - timedelta(minutes=minutes_ago)
    fields.setdefault("status", Task.Status.SUCCEEDED)
    task = TaskFactory(user=user, finished_at=moment, **fields)
    Task.objects.filter(pk=task.pk).update(created_at=moment - timedelta(seconds=5))
    return task


def cards(page):
    return re.findall(r'class="card mb-3 task[^"]*" data-task-id="(\w+)"', page)


def test_a_finished_card_says_what_happened_and_can_be_dismissed(logged_in, user):
    task = finished(user, status=Task.Status.FAILED, error_code="timeout")

    page = logged_in.get("/explore/").content.decode()

    assert cards(page) == [task.pk]
    assert "Export of your posts — failed" in page
    assert f'action="/exports/{task.pk}/dismiss"' in page
    assert f'action="/exports/{task.pk}/cancel"' not in page


def test_an_active_card_offers_cancel_not_dismiss_and_refuses_a_dismissal(logged_in, user):
    task = TaskFactory(user=user, status=Task.Status.RUNNING)

    page = logged_in.get("/explore/").content.decode()
    refused = logged_in.post(f"/exports/{task.pk}/dismiss", **FETCH)

    assert "Export of your posts — in progress" in page
    assert f'action="/exports/{task.pk}/cancel"' in page
    assert refused.status_code == 409
    assert Task.objects.get(pk=task.pk).dismissed_at is None


def test_a_dismissed_card_stays_gone_after_reload_and_reconnect_and_leaves_other_tabs(
    logged_in, user, redis_client, ws_headers
):
    task = finished(user)
    headers = ws_headers(user)

    async def body():
        other_tab = communicator(headers)
        assert [t["id"] for t in await connected_past_snapshot(other_tab)] == [task.pk]
        response = await sync_to_async(logged_in.post)(f"/exports/{task.pk}/dismiss", **FETCH)
        assert response.status_code == 204
        told = (await other_tab.receive_json_from(timeout=2))["task"]
        await other_tab.disconnect()
        reconnected = communicator(headers)
        after = await connected_past_snapshot(reconnected)
        await reconnected.disconnect()
        return told, after

    told, after_reconnect = run(body)

    assert (told["id"], told["dismissed"]) == (task.pk, True)
    # A reconnecting page still hears of it, as dismissed: tasks.js shows no card for it.
    assert [(t["id"], t["dismissed"]) for t in after_reconnect] == [(task.pk, True)]
    assert cards(logged_in.get("/explore/").content.decode()) == []
    # Gone from the cards, not from the history.
    assert "Export of your posts" in logged_in.get("/exports/").content.decode()


def test_without_javascript_dismissing_returns_to_the_page_without_the_card(logged_in, user):
    task = finished(user)

    response = logged_in.post(f"/exports/{task.pk}/dismiss", {"next": "/explore/"}, follow=True)

    assert response.redirect_chain[-1][0] == "/explore/"
    assert cards(response.content.decode()) == []


def test_another_users_task_cannot_be_dismissed(logged_in, other_user):
    task = finished(other_user)

    assert logged_in.post(f"/exports/{task.pk}/dismiss").status_code == 404
    assert Task.objects.get(pk=task.pk).dismissed_at is None


def test_only_the_newest_task_of_a_kind_has_a_card_and_old_ones_have_none(logged_in, user):
    finished(user, minutes_ago=60)  # long ago
    finished(user, minutes_ago=8, status=Task.Status.FAILED)  # superseded by the next one
    newest = finished(user, minutes_ago=2)

    page = logged_in.get(f"/user/{user.username}/").content.decode()

    assert cards(page) == [newest.pk]


def test_the_exports_page_shows_each_task_once(logged_in, user):
    older = finished(user, minutes_ago=60, status=Task.Status.FAILED, error_code="timeout")
    current = TaskFactory(user=user, status=Task.Status.RUNNING)

    page = logged_in.get("/exports/").content.decode()

    assert cards(page) == [current.pk]
    table = page[page.index("<table") :]
    assert current.pk not in table  # it is the card above the table
    assert "took too long" in table and older.finished_at is not None


def test_the_rate_limit_says_when_to_try_again_in_the_users_language(
    logged_in, user, redis_client, settings
):
    settings.TASKS_PER_HOUR = 1
    oldest = TaskFactory(user=user, status=Task.Status.SUCCEEDED, started_at=timezone.now())
    created = timezone.now() - timedelta(minutes=20)
    if created.minute in (58, 59):  # English drops ":00" ("4 p.m."): keep the minutes readable
        created -= timedelta(minutes=3)
    Task.objects.filter(pk=oldest.pk).update(created_at=created)
    retry = (created + timedelta(hours=1, minutes=1)).replace(second=0)

    english = logged_in.post("/exports/", follow=True, HTTP_ACCEPT_LANGUAGE="en")
    spanish = logged_in.post("/exports/", follow=True, HTTP_ACCEPT_LANGUAGE="es")

    hour12 = retry.strftime("%I").lstrip("0")
    assert "You can start at most 1 export per hour. You can try again at " in english.text
    assert f"{hour12}:{retry:%M}" in english.text and "UTC" in english.text
    assert f"Podrás volver a intentarlo a las {retry:%H:%M} UTC." in spanish.text
    assert Task.objects.count() == 1


def card_html(page, task):
    start = page.index(f'data-task-id="{task.pk}"')
    return page[page.rindex("<div", 0, start) : page.index("</div>\n  </div>\n</div>", start)]


@pytest.mark.parametrize(
    ("status", "colour", "bar_shown"),
    [
        ("succeeded", "success", True),
        ("failed", "danger", False),
        ("cancelled", "secondary", False),
    ],
)
def test_a_final_card_is_styled_as_final_and_keeps_no_partial_bar(
    logged_in, user, status, colour, bar_shown
):
    task = finished(user, status=status, progress=100 if bar_shown else 23)

    card = card_html(logged_in.get("/explore/").text, task)

    assert f'class="card mb-3 task task-final border-{colour} bg-{colour}-subtle"' in card
    assert ('class="progress d-none"' not in card) is bar_shown
    assert f"progress-bar bg-{colour}" in card and "progress-bar-animated" not in card


def test_the_started_flash_gives_way_to_the_card_once_the_card_is_final(
    logged_in, user, redis_client
):
    def export_then(before_the_page=lambda task: None):
        redirect = logged_in.post("/exports/", {"next": "/explore/"})
        task = Task.objects.order_by("created_at").last()
        before_the_page(task)
        return task, logged_in.get(redirect["Location"]).text

    first, queued = export_then()
    assert f'data-task-id="{first.pk}" role="alert">Your export has started.' in queued
    transitions.move(first, to=Task.Status.FAILED, error_code="timeout")

    # The worker was quicker than the redirect: the card says how it ended, the flash nothing.
    second, page = export_then(
        lambda task: transitions.move(task, to=Task.Status.FAILED, error_code="timeout")
    )

    assert second.pk != first.pk and cards(page) == [second.pk]
    assert "Your export has started." not in page
    assert "Export of your posts — failed" in page
