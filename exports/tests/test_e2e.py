"""Export your posts in real headless Chromium: live cards in two tabs, titles, dismissal."""

import pytest

from blog.seeding import seed_posts
from testkit import processes
from testkit.browser import log_in
from usertasks.models import Task

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_export_progress_is_live_in_two_tabs_and_a_dismissed_card_stays_gone(
    web, page, user, password, smtp_server, media_root, tmp_path
):
    seed_posts(author=user, count=5_000, seed=5)
    log_in(page, web.url, user, password)
    second = page.context.new_page()  # open before the export starts
    second.goto(f"{web.url}/explore/")
    second.wait_for_function("document.getElementById('tasks').dataset.connection === ''")
    page.goto(f"{web.url}/user/{user.username}/")

    page.click("#export-button")  # no worker yet: the task waits in the queue
    page.wait_for_selector("text=Your export has started")
    task = Task.objects.get()
    bar = f'[role="progressbar"][data-task-id="{task.pk}"]'
    card = f'.task[data-task-id="{task.pk}"]'
    assert page.get_attribute(bar, "aria-valuenow") == "0"
    assert page.is_disabled("#export-button")
    # The other tab learns of the queued task with no worker running: from the launch itself.
    second.wait_for_selector(bar)
    for tab in (page, second):
        assert tab.inner_text(f"{card} .task-title") == "Export of your posts — waiting to start"
        assert tab.is_visible(f"{card} .task-cancel button")
        assert tab.is_hidden(f"{card} .task-dismiss button")
    page.evaluate("window.notReloaded = true")
    page.wait_for_function("document.getElementById('tasks').dataset.connection === ''")

    log = tmp_path / "worker.log"
    with processes.running_worker(log, MEDIA_ROOT=media_root, **smtp_server.env()):
        for tab in (page, second):
            tab.wait_for_selector(f'{bar}[aria-valuenow="100"]', timeout=30_000)
            assert tab.inner_text(f"{card} .task-title") == "Export of your posts — ready"
            assert tab.inner_text(f"{card} .task-status") == "Succeeded"
            assert tab.get_attribute(f"{card} .task-download", "href") == (
                f"/exports/{task.pk}/download"
            )
            assert tab.is_hidden(f"{card} .task-cancel")
        assert page.evaluate("window.notReloaded") is True
        assert not page.is_disabled("#export-button")
        assert page.inner_text("#tasks-status") == "Export of your posts — ready"

        with page.expect_download() as download:
            page.locator(f"{card} .task-download").click()
        assert download.value.suggested_filename == "posts.json"

    page.click(f"{card} .task-dismiss button")
    for tab in (page, second):
        tab.wait_for_selector(card, state="detached", timeout=2_000)
    assert page.evaluate("window.notReloaded") is True  # dismissed in place
    for url in (f"{web.url}/user/{user.username}/", f"{web.url}/explore/"):
        page.goto(url)  # a reload and a new websocket: still gone
        page.wait_for_function("document.getElementById('tasks').dataset.connection === ''")
        assert page.locator(card).count() == 0
    assert Task.objects.get().dismissed_at is not None
