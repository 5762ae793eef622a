"""Private messages in real headless Chromium: the live unread badge in every tab, in English
and Spanish, and axe-core on the new pages in both languages."""

import pytest

from microblog.tests.test_accessibility import axe_violations
from private_messages.tests.sending import send
from testkit.browser import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONNECTED = "document.getElementById('tasks').dataset.connection === ''"


def badge(count):
    return f'nav [data-unread-messages="{count}"]'


def test_a_message_changes_alices_badge_in_every_tab_live_and_reading_clears_it(
    web, browser, alice, bob, password
):
    english = browser.new_context(locale="en-US")
    spanish = browser.new_context(locale="es-ES")
    senders = browser.new_context(locale="en-US")
    try:
        tab, other_tab = english.new_page(), english.new_page()
        spanish_tab, bobs = spanish.new_page(), senders.new_page()
        log_in(tab, web.url, alice, password)
        log_in(spanish_tab, web.url, alice, password)
        other_tab.goto(f"{web.url}/explore/")
        for page in (tab, other_tab, spanish_tab):
            page.wait_for_function(CONNECTED)
            assert page.locator(badge(0)).is_hidden()
            page.evaluate("window.notReloaded = true")

        log_in(bobs, web.url, bob, password)
        bobs.goto(f"{web.url}/user/alice/")
        bobs.click("text=Send private message")
        found = {"form": axe_violations(bobs)}
        bobs.click("main button[type=submit]")  # empty: the form comes back with its error
        bobs.wait_for_selector(".invalid-feedback")
        found["form with errors"] = axe_violations(bobs)
        bobs.fill("#id_body", "Hello Alice — ¿qué tal? 🎉")
        bobs.click("main button[type=submit]")
        bobs.wait_for_url(f"{web.url}/user/alice/")
        assert "Your message has been sent." in bobs.inner_text("main")

        for page in (tab, other_tab, spanish_tab):
            page.wait_for_selector(badge(1), state="visible")
            assert page.evaluate("window.notReloaded") is True
        assert tab.inner_text("#messages-status") == "New private message. 1 unread message"
        assert tab.locator(badge(1)).inner_text() == "1\n1 unread message"
        assert spanish_tab.inner_text("#messages-status") == (
            "Nuevo mensaje privado. 1 mensaje sin leer"
        )
        assert "1 mensaje sin leer" in spanish_tab.locator(badge(1)).inner_text()
        found["badge"] = axe_violations(tab)
        found["badge, in Spanish"] = axe_violations(spanish_tab)

        tab.click("nav >> text=Messages")
        tab.wait_for_url(f"{web.url}/messages/")
        assert "Hello Alice — ¿qué tal? 🎉" in tab.inner_text("main")
        assert tab.locator(badge(0)).is_hidden()
        for page in (other_tab, spanish_tab):
            page.wait_for_selector(badge(0), state="hidden")
            assert page.evaluate("window.notReloaded") is True
        found["inbox"] = axe_violations(tab)
        spanish_tab.goto(f"{web.url}/messages/")
        assert "Mensajes recibidos" in spanish_tab.locator("section").get_attribute("aria-label")
        found["inbox, in Spanish"] = axe_violations(spanish_tab)
        spanish_tab.goto(f"{web.url}/messages/send/bob/")
        spanish_tab.click("main button[type=submit]")
        spanish_tab.wait_for_selector(".invalid-feedback")
        found["form with errors, in Spanish"] = axe_violations(spanish_tab)
        assert found == {name: [] for name in found}

        # A reload shows the count it had, with no new announcement.
        send(bob, alice, "Again")
        other_tab.wait_for_selector(badge(1), state="visible")
        other_tab.reload()
        other_tab.wait_for_function(CONNECTED)
        assert other_tab.locator(badge(1)).is_visible()
        assert other_tab.inner_text("#messages-status") == ""
    finally:
        for context in (english, spanish, senders):
            context.close()
