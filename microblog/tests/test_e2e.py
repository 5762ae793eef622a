"""End to end in real headless Chromium against real daphne: sign up, post, see it."""

import pytest

from testkit.browser import sign_up

pytestmark = [pytest.mark.e2e]


def test_new_user_signs_up_posts_and_sees_the_post_on_the_timeline(web, page):
    sign_up(page, web.url, "alice", "a long enough passphrase")
    assert "Welcome to Microblog, alice!" in page.inner_text("main")

    page.fill("#id_body", "My first post — ünïcødé and 🎉")
    page.click("form[action='/'] button[type=submit]")
    page.wait_for_url(web.url + "/")
    assert "Your post is now live!" in page.inner_text("main")
    first = page.locator("article").first
    assert "My first post — ünïcødé and 🎉" in first.inner_text()
    assert "alice" in first.inner_text()
