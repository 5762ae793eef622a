"""A Spanish browser, end to end in real Chromium: sign up, post, export with live progress."""

import pytest

from testkit import processes
from testkit.browser import finished_bar, sign_up
from usertasks.models import Task

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def spanish_page(browser):
    context = browser.new_context(locale="es-ES")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_a_spanish_visitor_signs_up_posts_and_exports_in_spanish(
    web, spanish_page, smtp_server, media_root, tmp_path
):
    page = spanish_page
    page.goto(web.url + "/accounts/signup/")
    assert page.get_attribute("html", "lang") == "es"
    assert page.inner_text("h1") == "Registrarse"
    sign_up(page, web.url, "lucia", "una contraseña bastante larga")
    assert "¡Te damos la bienvenida a Microblog, lucia!" in page.inner_text("main")

    page.fill("#id_body", "Mi primera publicación — ñandú 🎉")
    page.click("form[action='/'] button[type=submit]")
    page.wait_for_url(web.url + "/")
    assert "¡Tu publicación ya está en línea!" in page.inner_text("main")
    assert "Mi primera publicación — ñandú 🎉" in page.locator("article").first.inner_text()

    page.click("nav >> text=Perfil")
    page.click("text=Exportar tus publicaciones")
    page.wait_for_selector("text=Tu exportación ha comenzado")
    task = Task.objects.get()
    card = page.locator(f'.task[data-task-id="{task.pk}"]')
    title = card.locator(".task-title")
    assert title.inner_text() == "Exportación de tus publicaciones — en espera"
    assert card.locator(".task-status").inner_text() == "En cola"
    assert card.locator(".task-cancel button").inner_text() == "Cancelar"
    page.wait_for_function("document.getElementById('tasks').dataset.connection === ''")

    log = tmp_path / "worker.log"
    with processes.running_worker(log, MEDIA_ROOT=media_root, **smtp_server.env()):
        page.wait_for_selector(finished_bar(task), timeout=30_000)

    # Rendered by tasks.js from the websocket message, with the JavaScript catalog's texts.
    assert card.locator(".task-status").inner_text() == "Completada"
    assert card.locator(".task-download").inner_text() == "Descargar"
    assert card.locator(".progress-bar").inner_text() == "100\xa0%"
    assert card.locator(".task-title").inner_text() == "Exportación de tus publicaciones — lista"
    assert page.inner_text("#tasks-status") == "Exportación de tus publicaciones — lista"
    assert card.locator(".task-cancel").is_hidden()

    # The dismiss control speaks Spanish, and a dismissed card stays gone after a reload.
    assert card.locator(".task-dismiss button").get_attribute("aria-label") == "Descartar"
    card.locator(".task-dismiss button").click()
    card.wait_for(state="detached")
    page.reload()
    page.wait_for_function("document.getElementById('tasks').dataset.connection === ''")
    assert page.locator(f'.task[data-task-id="{task.pk}"]').count() == 0

    (message,) = smtp_server.messages
    assert "Tus publicaciones del blog" in str(message["Subject"])
