"""Sending and reading private messages through Django's test client."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from private_messages.models import Message
from private_messages.tests.sending import send
from testkit.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_bob(client, bob):
    client.force_login(bob)
    return client


def badge(response):
    """The navigation bar's unread count and whether it is hidden."""
    found = re.search(
        r'<span class="badge[^"]*"( hidden)? data-unread-messages="(\d+)"', response.text
    )
    return int(found.group(2)), bool(found.group(1))


def test_the_form_sends_a_message_and_returns_to_the_recipients_profile(as_bob, alice, bob):
    assert as_bob.get("/messages/send/alice/").status_code == 200
    response = as_bob.post(
        "/messages/send/alice/", {"body": "Hi Alice — ¿qué tal? 🎉"}, follow=True
    )
    assert response.redirect_chain == [("/user/alice/", 302)]
    assert "Your message has been sent." in response.text
    (message,) = Message.objects.all()
    assert (message.sender, message.recipient, message.body) == (
        bob,
        alice,
        "Hi Alice — ¿qué tal? 🎉",
    )


def test_sending_writes_one_row(as_bob, alice):
    with CaptureQueriesContext(connection) as queries:
        assert as_bob.post("/messages/send/alice/", {"body": "Hi"}).status_code == 302
    reads = ("SELECT", "SAVEPOINT", "RELEASE SAVEPOINT")  # the test's transaction's own
    writes = [q["sql"] for q in queries if not q["sql"].startswith(reads)]
    assert len(writes) == 1 and writes[0].startswith('INSERT INTO "private_messages_message"'), (
        writes
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("", "Your message is empty."),
        ("   ", "Your message is empty."),
        ("x" * 281, "Messages are limited to 280 characters (this one has 281)."),
        ("a\x00b", "Null characters are not allowed."),
    ],
    ids=["empty", "blank", "too long", "NUL"],
)
def test_a_bad_body_redisplays_the_form_with_its_error_and_stores_nothing(
    as_bob, alice, body, error
):
    response = as_bob.post("/messages/send/alice/", {"body": body})
    assert response.status_code == 200
    assert error in response.text
    assert 'name="body"' in response.text
    assert not Message.objects.exists()


def test_sending_to_a_missing_user_is_404(as_bob):
    assert as_bob.get("/messages/send/nobody/").status_code == 404
    assert as_bob.post("/messages/send/nobody/", {"body": "Hi"}).status_code == 404


def test_sending_needs_a_csrf_token_and_a_log_in(alice, bob):
    anonymous = Client()
    response = anonymous.post("/messages/send/alice/", {"body": "Hi"})
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(bob)
    assert strict.post("/messages/send/alice/", {"body": "Hi"}).status_code == 403
    assert not Message.objects.exists()


def test_another_users_profile_links_to_the_form_and_your_own_does_not(as_bob, alice):
    assert 'href="/messages/send/alice/"' in as_bob.get("/user/alice/").text
    assert "Send private message" in as_bob.get("/user/alice/").text
    assert "Send private message" not in as_bob.get("/user/bob/").text


def test_the_rate_limit_refuses_with_when_to_try_again_and_stores_nothing(as_bob, alice, settings):
    settings.MESSAGES_PER_HOUR = 2
    for body in ("one", "two"):
        assert as_bob.post("/messages/send/alice/", {"body": body}).status_code == 302
    response = as_bob.post("/messages/send/alice/", {"body": "three"})
    assert response.status_code == 200
    assert "You can send at most 2 messages per hour. You can try again at" in response.text
    assert list(Message.objects.values_list("body", flat=True).order_by("id")) == ["one", "two"]


def test_only_the_recipient_reads_a_message(client, alice, bob):
    send(bob, alice, "For Alice only")
    carol = UserFactory(username="carol")
    for reader, sees in ((alice, True), (bob, False), (carol, False)):
        client.force_login(reader)
        assert ("For Alice only" in client.get("/messages/").text) is sees, reader
        for path in ("/", "/explore/", "/user/alice/", "/user/bob/", "/notifications/"):
            assert "For Alice only" not in client.get(path).text
    client.logout()
    response = client.get("/messages/")
    assert response.status_code == 302 and "For Alice only" not in response.text


def test_the_inbox_lists_received_messages_newest_first_and_marks_them_read(client, alice, bob):
    send(bob, alice, "first")
    send(bob, alice, "second")
    client.force_login(alice)
    assert badge(client.get("/")) == (2, False)
    assert "2 unread messages" in client.get("/").text

    page = client.get("/messages/").text
    assert page.index("second") < page.index("first")
    assert 'href="/user/bob/">bob</a>' in page
    assert "<time" in page
    assert badge(client.get("/messages/")) == (0, True)
    assert badge(client.get("/")) == (0, True)

    send(bob, alice, "third")
    assert badge(client.get("/")) == (1, False)
    assert "1 unread message<" in client.get("/").text


def test_deleting_an_account_deletes_its_messages(alice, bob):
    carol = UserFactory(username="carol")
    send(bob, alice)
    send(alice, bob)
    send(carol, alice)
    bob.delete()
    assert list(Message.objects.values_list("sender__username", flat=True)) == ["carol"]


def test_the_admin_lists_who_wrote_to_whom_read_only_and_never_the_body(admin_client, alice, bob):
    message = send(bob, alice, "Secret words")
    response = admin_client.get("/admin/private_messages/message/")
    assert response.status_code == 200
    assert "alice" in response.text and "bob" in response.text
    assert "Secret words" not in response.text
    assert admin_client.get("/admin/private_messages/message/add/").status_code == 403
    detail = admin_client.get(f"/admin/private_messages/message/{message.pk}/change/")
    assert "Secret words" not in detail.text
    assert (
        admin_client.post(
            f"/admin/private_messages/message/{message.pk}/change/", {"body": "changed"}
        ).status_code
        == 403
    )
    assert Message.objects.get().body == "Secret words"


def test_the_inbox_speaks_spanish(client, alice, bob):
    send(bob, alice)
    client.force_login(alice)
    headers = {"Accept-Language": "es"}
    assert "1 mensaje sin leer" in client.get("/", headers=headers).text
    page = client.get("/messages/", headers=headers).text
    assert "Mensajes" in page
    client.force_login(bob)
    form = client.get("/messages/send/alice/", headers=headers).text
    assert "Enviar un mensaje privado a alice" in form
    sent = client.post("/messages/send/alice/", {"body": "Hola"}, headers=headers, follow=True)
    assert "Tu mensaje ha sido enviado." in sent.text
    assert "Enviar mensaje privado" in client.get("/user/alice/", headers=headers).text


def test_notifications_gives_the_unread_count_and_active_tasks_newer_than_since(client, alice, bob):
    from testkit.factories import TaskFactory

    send(bob, alice)
    send(bob, alice)
    old = TaskFactory(user=alice, status="running", progress=40, updated_at=timezone.now())
    since = timezone.now().timestamp()
    newer = TaskFactory(
        user=alice, kind="import_posts", status="running", progress=70, updated_at=timezone.now()
    )
    TaskFactory(user=bob, status="running", progress=10, updated_at=timezone.now())
    client.force_login(alice)
    entries = client.get(f"/notifications/?since={since}").json()
    by_name = {}
    for entry in entries:
        assert set(entry) == {"name", "data", "timestamp"}
        by_name.setdefault(entry["name"], []).append(entry["data"])
    assert by_name == {
        "unread_message_count": [2],
        "task_progress": [{"task_id": newer.pk, "progress": 70}],
    }
    everything = client.get("/notifications/?since=nonsense").json()
    assert {"task_id": old.pk, "progress": 40} in [entry["data"] for entry in everything]

    client.logout()
    response = client.get("/notifications/")
    assert response.status_code == 302 and b"unread" not in response.content


def test_a_cached_timeline_shows_the_unread_count_of_each_request(page_cache):
    """The timeline's first page is kept rendered (blog/timeline_page.py); the unread count in
    its navigation bar is not part of what is kept."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    client = Client()
    client.force_login(bob)
    client.get("/")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert not any("microblog_post" in q["sql"] for q in queries)  # served from the cache
    assert badge(response) == (0, True)
    send(alice, bob)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert not any("microblog_post" in q["sql"] for q in queries)
    assert badge(response) == (1, False)
