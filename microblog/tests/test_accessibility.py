"""Accessibility in real Chromium: axe-core on every main page, keyboard use of the live progress.

axe-core (testkit/vendor/axe.min.js, MPL-2.0, a tests-only asset) is injected into
each page; any violation it rates serious or critical fails the test.
"""

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from testkit import processes
from testkit.browser import finished_bar, log_in
from testkit.factories import PostFactory, TaskFactory, UserFactory
from usertasks.models import Task

pytestmark = [pytest.mark.e2e]

AXE = Path(processes.BASE_DIR) / "testkit" / "vendor" / "axe.min.js"
BLOCKING = {"serious", "critical"}
LOCALES = ["en-US", "es-ES"]


def axe_violations(page):
    """axe's serious and critical violations on the page as it is now, as readable lines."""
    # Without transitions, colours are measured in their final state, not mid-fade.
    page.emulate_media(reduced_motion="reduce")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(
            f"{node['html'][:160]} {node.get('failureSummary', '')}"
            for node in violation["nodes"][:5]
        )
        for violation in result["violations"]
        if violation["impact"] in BLOCKING
    ]


@pytest.fixture(params=LOCALES)
def localised_page(request, browser):
    context = browser.new_context(locale=request.param)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def author(user):
    """A user with posts, a follower and someone they follow: every part of the pages shows."""
    other = UserFactory()
    for body in ("First post", "Second — ünïcødé 🎉"):
        PostFactory(author=user, body=body)
    PostFactory(author=other, body="A post by someone else")
    user.following_links.create(followed=other)
    other.following_links.create(followed=user)
    return user


def test_anonymous_pages_have_no_serious_accessibility_problems(web, localised_page):
    page = localised_page
    found = {}
    for path in ("/", "/accounts/signup/", "/accounts/login/", "/explore/"):
        page.goto(web.url + path)
        found[path] = axe_violations(page)
        # Errors are part of the page too: submit the empty form.
        if path in ("/accounts/signup/", "/accounts/login/"):
            page.click("main button[type=submit]")
            page.wait_for_load_state()
            found[f"{path} with errors"] = axe_violations(page)

    assert found == {path: [] for path in found}


def test_logged_in_pages_have_no_serious_accessibility_problems(
    web, localised_page, author, password
):
    page = localised_page
    log_in(page, web.url, author, password)
    found = {}
    for path in ("/", "/explore/", f"/user/{author.username}/", "/exports/", "/accounts/profile/"):
        page.goto(web.url + path)
        page.wait_for_function("document.getElementById('tasks').dataset.connection === ''")
        found[path] = axe_violations(page)

    assert found == {path: [] for path in found}


def test_pages_with_running_and_finished_exports_have_no_serious_accessibility_problems(
    web, localised_page, author, password
):
    page = localised_page
    finished = {"user": author, "finished_at": timezone.now()}
    done = TaskFactory(**finished, status=Task.Status.SUCCEEDED, progress=100)
    done.result.save("posts.json", ContentFile(b'{"posts": []}'))
    # A card per kind: a finished export and a failed task of another kind.
    failed = TaskFactory(
        **finished,
        kind="import_posts",
        status=Task.Status.FAILED,
        progress=30,
        error_code="internal_error",
    )
    log_in(page, web.url, author, password)
    page.goto(f"{web.url}/user/{author.username}/")
    page.wait_for_function("document.getElementById('tasks').dataset.connection === ''")
    for task in (done, failed):
        assert page.locator(f'.task[data-task-id="{task.pk}"]').is_visible()
    assert axe_violations(page) == []

    page.click("#export-button")  # no worker: the new export stays queued, its bar live
    page.wait_for_selector('[role="progressbar"][aria-valuenow="0"]')
    page.wait_for_function("document.getElementById('tasks').dataset.connection === ''")
    assert page.locator('[role="progressbar"]').count() == 2  # it took the finished export's place
    assert page.locator(f'.task[data-task-id="{failed.pk}"]').is_visible()
    assert axe_violations(page) == []
    page.goto(f"{web.url}/exports/")
    assert axe_violations(page) == []


def test_the_progress_ui_is_usable_with_a_keyboard_and_never_steals_focus(
    web, page, author, password, smtp_server, media_root, tmp_path
):
    log_in(page, web.url, author, password)
    page.goto(f"{web.url}/user/{author.username}/")
    page.click("#export-button")
    task = Task.objects.get()
    card = page.locator(f'.task[data-task-id="{task.pk}"]')
    bar = card.locator('[role="progressbar"]')
    page.wait_for_function("document.getElementById('tasks').dataset.connection === ''")

    # The bar is named by the card's title; controls say which task they act on.
    label_id = bar.get_attribute("aria-labelledby")
    assert page.locator(f"#{label_id}").inner_text() == "Export of your posts — waiting to start"
    assert card.locator(".task-cancel button").get_attribute("aria-describedby") == label_id
    # Colour is never the only signal: the state is written out.
    assert card.locator(".task-status").inner_text() == "Queued"

    page.reload()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.innerText") == "Skip to main content"
    reached = tab_through(page)
    assert "Cancel" in reached
    assert "Language" in reached
    assert "Change language" in reached

    page.focus("#language-select")
    log = tmp_path / "worker.log"
    with processes.running_worker(log, MEDIA_ROOT=media_root, **smtp_server.env()):
        page.wait_for_selector(finished_bar(task), timeout=30_000)
    assert page.evaluate("document.activeElement.id") == "language-select"
    assert page.inner_text("#tasks-status") == "Export of your posts — ready"
    assert "Download" in tab_through(page)
    assert axe_violations(page) == []


def tab_through(page, limit=80):
    """Press Tab until focus comes round again: the accessible text of each control reached."""
    reached = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        text = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e === document.body ? null"
            " : (e.labels?.[0]?.innerText || e.getAttribute('aria-label') || e.innerText"
            " || e.id).trim(); }"
        )
        if text is not None and reached and text == reached[0]:
            break
        if text is not None:
            reached.append(text)
    return reached
