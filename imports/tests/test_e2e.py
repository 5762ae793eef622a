"""Import your posts in real headless Chromium: the form, the live bar, the timeline."""

import pytest

from blog.models import Post
from imports.tests.archives import posts, write_archive
from testkit import processes
from testkit.browser import log_in
from usertasks.models import Task

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RECORD_BAR = """(taskId) => {
  window.seen = [];
  const record = () => {
    const bar = document.querySelector(`[role="progressbar"][data-task-id="${taskId}"]`);
    if (bar) window.seen.push(Number(bar.getAttribute("aria-valuenow")));
  };
  new MutationObserver(record).observe(document.getElementById("tasks"),
    {subtree: true, childList: true, attributes: true, attributeFilter: ["aria-valuenow"]});
  record();
}"""


def test_an_archive_uploaded_through_the_form_shows_a_live_bar_then_its_posts(
    web, page, user, password, media_root, tmp_path
):
    items = posts(100_000)
    archive = write_archive(tmp_path / "posts.json", items)
    log_in(page, web.url, user, password)
    page.goto(f"{web.url}/user/{user.username}/")

    page.set_input_files("#import-archive", str(archive))
    page.click("#import-button")  # no worker yet: the task waits in the queue
    page.wait_for_selector("text=Your import has started.")
    task = Task.objects.get(kind="import_posts")
    card = f'.task[data-task-id="{task.pk}"]'
    assert page.inner_text(f"{card} .task-title") == "Import of your posts — waiting to start"
    assert page.is_disabled("#import-button")
    page.wait_for_function("document.getElementById('tasks').dataset.connection === ''")
    page.evaluate(RECORD_BAR, task.pk)

    log = tmp_path / "worker.log"
    # A report per batch (EXPORT_PROGRESS_INTERVAL=0): the bar's steps are counted, not timed.
    with processes.running_worker(log, MEDIA_ROOT=media_root, EXPORT_PROGRESS_INTERVAL=0):
        page.wait_for_selector(
            f'[role="progressbar"][data-task-id="{task.pk}"][aria-valuenow="100"]',
            timeout=120_000,
        )
    assert page.inner_text(f"{card} .task-title") == "Import of your posts — done"
    assert page.inner_text(f"{card} .task-detail") == (
        "Imported 100,000 posts; skipped 0 already present."
    )
    seen = page.evaluate("window.seen")
    assert any(0 < value < 100 for value in seen), seen  # it moved while the job ran
    assert seen == sorted(seen)
    assert not page.is_disabled("#import-button")

    page.goto(f"{web.url}/")  # the timeline: newest first, original timestamps
    newest = Post.objects.filter(author=user).order_by("-timestamp").first()
    assert newest.body == items[-1]["body"]
    assert page.locator("main").inner_text().index(items[-1]["body"].strip()) >= 0
    assert page.locator("main").inner_text().index(items[-1]["body"].strip()) < (
        page.locator("main").inner_text().index(items[-2]["body"].strip())
    )


def test_an_archive_over_the_limit_ends_on_a_page_that_says_so_and_leads_back(
    transactional_db, redis_client, page, user, password, media_root, tmp_path
):
    """daphne answers 413 from the headers while Chromium is still sending the file; it reads
    and drops the rest (serverpatches/request_limits.py), so the browser shows the answer."""
    web = processes.start_daphne(tmp_path / "d.log", MEDIA_ROOT=media_root, IMPORT_MAX_BYTES=2**20)
    try:
        archive = write_archive(tmp_path / "posts.json", posts(100_000))
        assert archive.stat().st_size > 8 * 2**20  # far more than the socket buffers hold
        log_in(page, web.url, user, password)
        page.goto(f"{web.url}/imports/")

        page.set_input_files("#import-archive", str(archive))
        with page.expect_navigation() as navigation:
            page.click("#import-button")
        assert navigation.value.status == 413
        lines = [line for line in page.inner_text("main").splitlines() if line]
        assert lines == [
            "File too large",
            "This file is too large: archives are limited to 1.0\xa0MB.",
            "Go back",
        ]
        page.click("text=Go back")
        page.wait_for_selector("#import-archive")
        assert not Task.objects.exists()
    finally:
        web.stop()
