"""The session engine (accounts/sessions.py): Django's database sessions, read by one statement
of our own; what a session holds and when it ends must be exactly Django's."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_a_session_reads_back_what_djangos_engine_wrote_and_the_reverse():
    django_store = DjangoStore()
    django_store.update({"answer": 42, "name": "ünïcode"})
    django_store.create()
    assert SessionStore(django_store.session_key).load() == {"answer": 42, "name": "ünïcode"}
    ours = SessionStore()
    ours["kept"] = [1, 2]
    ours.create()
    assert DjangoStore(ours.session_key).load() == {"kept": [1, 2]}


def test_an_expired_or_unknown_session_is_empty_and_forgets_its_key():
    store = SessionStore()
    store["x"] = 1
    store.create()
    Session.objects.filter(pk=store.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    for key in (store.session_key, "no-such-session-key-0123456789ab"):
        session = SessionStore(key)
        assert session.load() == {}
        assert session.session_key is None  # a save creates a new one, never reuses this key


def test_a_logged_in_browser_stays_logged_in_until_its_session_expires(client, user):
    client.force_login(user)
    assert client.get("/exports/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/exports/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
