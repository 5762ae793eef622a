"""Final cards in real headless Chromium: live updates leave them looking final, the start flash
gives way to the card, and the task history fits a 390 px phone."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from testkit.browser import log_in
from testkit.factories import TaskFactory
from usertasks import services, transitions
from usertasks.models import Task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def aside(write, *args, **kwargs):
    """Run a write in a thread of its own: Playwright's event loop holds this one, and the
    broadcast of a committed write (async_to_sync) cannot run beside it."""

    def call():
        try:
            return write(*args, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


def test_live_updates_style_final_cards_as_final_and_remove_the_start_flash(
    web, page, user, password
):
    log_in(page, web.url, user, password)
    page.goto(f"{web.url}/exports/")
    page.wait_for_function("document.getElementById('tasks').dataset.connection === ''")
    page.click("[data-task-kind=export_posts]")  # no worker: the task waits in the queue
    task = Task.objects.get()
    flash = f'.alert[data-task-id="{task.pk}"]'
    page.wait_for_selector(f"{flash}:has-text('Your export has started')")
    page.wait_for_function("document.getElementById('tasks').dataset.connection === ''")

    def card_of(task):
        return f'.task[data-task-id="{task.pk}"]'

    aside(services.cancel_task, task=task)
    cancelled = card_of(task)
    page.wait_for_selector(f"{cancelled}.task-final.border-secondary.bg-secondary-subtle")
    assert page.is_hidden(f"{cancelled} [role=progressbar]")
    page.wait_for_selector(flash, state="detached")

    failing = aside(transitions.create_task, task_id="f" * 32, user=user, kind="export_posts")
    aside(transitions.move, failing, to=Task.Status.RUNNING, total=100, done=23)
    page.wait_for_selector(f"{card_of(failing)} [role=progressbar][aria-valuenow='23']")
    assert page.get_attribute(card_of(failing), "class") == "card mb-3 task"
    aside(transitions.move, failing, to=Task.Status.FAILED, error_code="timeout")
    page.wait_for_selector(f"{card_of(failing)}.task-final.border-danger.bg-danger-subtle")
    assert page.is_hidden(f"{card_of(failing)} [role=progressbar]")

    done = aside(transitions.create_task, task_id="d" * 32, user=user, kind="export_posts")
    aside(transitions.move, done, to=Task.Status.RUNNING, total=100, done=50)
    aside(transitions.move, done, to=Task.Status.SUCCEEDED, done=100)
    page.wait_for_selector(f"{card_of(done)}.task-final.border-success.bg-success-subtle")
    bar = f"{card_of(done)} [role=progressbar][aria-valuenow='100']"
    assert page.is_visible(bar)
    assert page.get_attribute(f"{bar} .progress-bar", "class") == "progress-bar bg-success"


def test_the_task_history_needs_no_sideways_scroll_on_a_390_pixel_phone(web, page, user, password):
    for error_code in ("timeout", "disk_full", "internal_error"):
        TaskFactory(user=user, status=Task.Status.FAILED, progress=23, error_code=error_code)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, web.url, user, password)
    page.goto(f"{web.url}/exports/")
    page.wait_for_selector("text=The server has no room to store your export right now.")

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    table = "document.querySelector('.table-responsive')"
    assert page.evaluate(f"{table}.scrollWidth <= {table}.clientWidth")
    assert page.locator("td:has-text('took too long')").is_visible()
