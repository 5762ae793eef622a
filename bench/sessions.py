"""Bulk-created users with logged-in sessions, for load benchmarks."""

from datetime import timedelta

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
from django.utils.crypto import get_random_string

BACKEND = "django.contrib.auth.backends.ModelBackend"


def users_with_sessions(prefix, count):
    """``count`` users named prefix0..N and a session key for each (created in bulk)."""
    model = get_user_model()
    password = make_password(None)
    names = [f"{prefix}{i}" for i in range(count)]
    existing = set(model.objects.filter(username__in=names).values_list("username", flat=True))
    model.objects.bulk_create(
        [
            model(username=n, email=f"{n}@example.com", password=password)
            for n in names
            if n not in existing
        ],
        batch_size=1000,
    )
    users = list(model.objects.filter(username__in=names).order_by("id"))
    store = SessionStore()
    expiry = timezone.now() + timedelta(days=1)
    sessions = []
    for user in users:
        key = get_random_string(32)
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: BACKEND,
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        sessions.append(
            Session(session_key=key, session_data=store.encode(data), expire_date=expiry)
        )
    Session.objects.bulk_create(sessions, batch_size=1000)
    return users, [s.session_key for s in sessions]
