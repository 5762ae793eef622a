"""English and Spanish: the browser's language, the footer switch, and what workers write."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone, translation

from exports.jobs import export_posts
from testkit.factories import PostFactory, TaskFactory, UserFactory
from testkit.jobs import run_queued_jobs
from usertasks.models import Task
from usertasks.reconciliation import reconcile_active_tasks

pytestmark = pytest.mark.django_db

SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es-ES,es;q=0.9"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


def _text(response):
    return response.content.decode()


def _messages(response):
    return [str(message) for message in response.context["messages"]]


# Pages follow the browser's language


def test_a_spanish_browser_gets_the_landing_and_sign_up_pages_in_spanish(client):
    landing = _text(client.get("/", **SPANISH))
    signup = _text(client.get("/accounts/signup/", **SPANISH))

    assert '<html lang="es">' in landing
    assert "Registrarse" in landing and "Iniciar sesión" in landing
    assert "Explorar publicaciones" in landing
    assert "Saltar al contenido principal" in landing
    assert "¿Ya tienes una cuenta?" in signup
    assert "Correo electrónico" in signup
    assert "Contraseña (confirmación)" in signup  # Django's own form labels are translated too


def test_a_spanish_browser_gets_the_navbar_and_profile_in_spanish(logged_in, user):
    page = _text(logged_in.get(f"/user/{user.username}/", **SPANISH))

    for text in ("Inicio", "Explorar", "Perfil", "Exportaciones", "Cerrar sesión"):
        assert f">{text}<" in page
    assert "Exportar tus publicaciones" in page
    assert "Editar tu perfil" in page
    assert "seguidores" in page and "siguiendo" in page


def test_an_english_browser_keeps_the_english_texts(logged_in, user):
    page = _text(logged_in.get(f"/user/{user.username}/", **ENGLISH))

    assert '<html lang="en">' in page
    assert "Export your posts" in page
    assert ">Log out<" in page
    assert "Exportar" not in page


def test_post_times_are_humanised_in_spanish(logged_in, user):
    PostFactory(author=user, body="hola", timestamp=timezone.now() - timedelta(minutes=3))

    page = _text(logged_in.get("/", **SPANISH))

    assert "hace 3\xa0minutos" in page or "hace 3 minutos" in page
    assert "¡Hola, " in page and "Tu cronología" in page


def test_progress_percentages_follow_the_language(logged_in, user):
    TaskFactory(user=user, status=Task.Status.RUNNING, progress=45)

    spanish = _text(logged_in.get("/exports/", **SPANISH))
    english = _text(logged_in.get("/exports/", **ENGLISH))

    assert "45\xa0%" in spanish and "En curso" in spanish
    assert "45%" in english and "Running" in english


def test_posting_messages_are_in_spanish(logged_in):
    response = logged_in.post("/", {"body": "¡hola!"}, follow=True, **SPANISH)
    assert _messages(response) == ["¡Tu publicación ya está en línea!"]

    response = logged_in.post("/", {"body": ""}, follow=True, **SPANISH)
    assert _messages(response) == ["Tu publicación no se ha publicado: Tu publicación está vacía."]


# Exports in Spanish


def test_the_in_progress_message_is_in_spanish(logged_in, user):
    logged_in.post("/exports/", **SPANISH)
    response = logged_in.post("/exports/", follow=True, **SPANISH)

    assert "Hay una tarea de exportación en curso." in _messages(response)
    assert Task.objects.count() == 1


def test_an_export_launched_in_spanish_is_described_in_spanish(logged_in, user):
    response = logged_in.post("/exports/", follow=True, **SPANISH)

    assert _messages(response) == [
        "Tu exportación ha comenzado. Recibirás un correo electrónico cuando esté lista."
    ]
    page = _text(response)
    assert "Exportación de tus publicaciones — en espera" in page
    assert "En cola" in page and ">Cancelar<" in page


def test_the_javascript_catalog_has_the_spanish_status_texts(client):
    spanish = _text(client.get("/jsi18n/", **SPANISH))
    english = _text(client.get("/jsi18n/", **ENGLISH))

    assert json.dumps("Reconectando…")[1:-1] in spanish
    assert "Reconectando" not in english


# Choosing a language in the footer


def test_every_page_has_a_language_switch_in_its_footer(client):
    page = _text(client.get("/explore/"))
    footer = page[page.index("<footer") : page.index("</footer>")]

    assert 'action="/i18n/setlang/"' in footer
    assert '<label for="language-select">Language</label>' in footer
    assert '<option value="en" lang="en" selected>English</option>' in footer
    assert '<option value="es" lang="es">Español</option>' in footer


def test_switching_language_sets_the_cookie_and_remembers_it_on_the_user(logged_in, user):
    response = logged_in.post("/i18n/setlang/", {"language": "es", "next": "/explore/"})

    assert response.status_code == 302 and response["Location"] == "/explore/"
    assert response.cookies["django_language"].value == "es"
    user.refresh_from_db()
    assert user.language == "es"
    page = _text(logged_in.get("/explore/", **ENGLISH))  # the choice beats the browser
    assert '<html lang="es">' in page and "Explorar" in page


def test_an_anonymous_visitor_switching_language_only_gets_the_cookie(client):
    response = client.post("/i18n/setlang/", {"language": "es", "next": "/"})

    assert response.cookies["django_language"].value == "es"
    assert "Registrarse" in _text(client.get("/"))


def test_an_unknown_language_changes_nothing(logged_in, user):
    user.language = "en"
    user.save()

    response = logged_in.post("/i18n/setlang/", {"language": "xx", "next": "/"})

    assert "django_language" not in response.cookies
    user.refresh_from_db()
    assert user.language == "en"


def test_switching_language_needs_a_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post("/i18n/setlang/", {"language": "es"})

    assert response.status_code == 403
    user.refresh_from_db()
    assert user.language == ""


def test_signing_up_remembers_the_browser_language(client):
    client.post(
        "/accounts/signup/",
        {
            "username": "lucia",
            "email": "lucia@example.com",
            "password1": "una contraseña bastante larga",
            "password2": "una contraseña bastante larga",
        },
        **SPANISH,
    )

    assert UserFactory._meta.model.objects.get(username="lucia").language == "es"


def test_the_password_reset_email_of_a_user_without_a_language_is_in_the_request_language(
    client, user, redis_client
):
    client.post("/accounts/password_reset/", {"email": user.email}, **SPANISH)
    run_queued_jobs()  # the worker sends it, in the language the reset was asked in

    (message,) = mail.outbox
    assert message.subject == "[Microblog] Restablece tu contraseña"
    assert message.body.startswith(f"Hola, {user.username}:")


# What the worker writes, in the owner's language


@pytest.mark.django_db(transaction=True)
def test_the_export_email_is_in_the_users_language(user, redis_client):
    user.language = "es"
    user.save()
    PostFactory(author=user, body="hola")
    task = TaskFactory(user=user)

    export_posts(task.pk)

    (message,) = mail.outbox
    assert message.subject == "[Microblog] Tus publicaciones del blog"
    assert message.body.startswith(f"Hola, {user.username}:")
    assert "Tu exportación está lista." in message.body
    assert "Atentamente," in message.body and "El equipo de Microblog" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert '<html lang="es">' in html and "Descargar tus publicaciones" in html
    assert message.attachments[0][0] == "posts.json"


@pytest.mark.django_db(transaction=True)
def test_the_export_email_of_a_user_without_a_language_is_in_english(user, redis_client):
    export_posts(TaskFactory(user=user).pk)

    (message,) = mail.outbox
    assert message.subject == "[Microblog] Your blog posts"
    assert message.body.startswith(f"Dear {user.username},")


@pytest.mark.django_db(transaction=True)
def test_the_json_export_is_the_same_in_every_language(user, redis_client):
    for body in ("hola", 'quote " and ñ 🎉', "third"):
        PostFactory(author=user, body=body)
    exports = {}
    for language in ("en", "es"):
        user.language = language
        user.save()
        task = TaskFactory(user=user)
        export_posts(task.pk)
        task.refresh_from_db()
        with task.result.open("rb") as handle:
            exports[language] = json.loads(handle.read())
        exports[language].pop("exported_at")

    assert exports["en"] == exports["es"]
    assert list(exports["es"]) == ["user", "posts"]
    assert [post["body"] for post in exports["es"]["posts"]] == [
        "hola",
        'quote " and ñ 🎉',
        "third",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_failing_export_is_explained_in_the_readers_language(user, redis_client, monkeypatch):
    task = TaskFactory(user=user)

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr("exports.jobs._write_posts", broken)
    with pytest.raises(OSError):
        export_posts(task.pk)

    task.refresh_from_db()
    assert task.status == Task.Status.FAILED
    assert task.error_code == "internal_error"  # a code: the reader's language decides
    with translation.override("en"):
        assert task.error == "The export failed because of an internal error — please try again."
    with translation.override("es"):
        assert task.error == "La exportación ha fallado por un error interno; vuelve a intentarlo."


@pytest.mark.django_db(transaction=True)
def test_a_lost_task_is_explained_in_the_readers_language(user, redis_client):
    task = TaskFactory(user=user, status=Task.Status.QUEUED)  # no job in Redis: lost
    Task.objects.filter(pk=task.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    assert reconcile_active_tasks(connection=redis_client) == 1

    task.refresh_from_db()
    assert task.error_code == "worker_lost"
    with translation.override("es"):
        assert task.error == (
            "El proceso en segundo plano se detuvo inesperadamente; vuelve a intentarlo."
        )
