"""Export your posts in real headless Chromium: live progress over the websocket, two tabs."""

import pytest

from exports.models import Task
from microblog.seeding import seed_posts
from microblog.testing import processes
from microblog.testing.browser import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_export_progress_is_live_in_two_tabs_without_reloading(
    web, page, user, password, smtp_server, media_root, tmp_path
):
    seed_posts(author=user, count=5_000, seed=5)
    log_in(page, web.url, user, password)
    page.goto(f"{web.url}/user/{user.username}/")
    page.evaluate("window.notReloaded = true")

    page.click("#export-button")  # no worker yet: the task waits in the queue
    page.wait_for_selector("text=Your export has started")
    task = Task.objects.get()
    bar = f'[role="progressbar"][data-task-id="{task.pk}"]'
    assert page.get_attribute(bar, "aria-valuenow") == "0"
    assert page.is_disabled("#export-button")
    page.evaluate("window.notReloaded = true")

    second = page.context.new_page()
    second.goto(f"{web.url}/explore/")
    assert second.get_attribute(bar, "aria-valuenow") == "0"
    page.wait_for_function("document.getElementById('tasks').dataset.connection === ''")

    log = tmp_path / "worker.log"
    with processes.running_worker(log, MEDIA_ROOT=media_root, **smtp_server.env()):
        for tab in (page, second):
            tab.wait_for_selector(f'{bar}[aria-valuenow="100"]', timeout=30_000)
            card = tab.locator(f'.task[data-task-id="{task.pk}"]')
            assert card.locator(".task-status").inner_text() == "Succeeded"
            assert card.locator(".task-download").get_attribute("href") == (
                f"/exports/{task.pk}/download"
            )
            assert card.locator(".task-cancel").is_hidden()
        assert page.evaluate("window.notReloaded") is True
        assert not page.is_disabled("#export-button")
        assert "succeeded" in page.inner_text("#tasks-status")

        with page.expect_download() as download:
            page.locator(f'.task[data-task-id="{task.pk}"] .task-download').click()
        assert download.value.suggested_filename == "posts.json"
