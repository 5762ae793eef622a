import pytest
from django.conf import settings
from django.utils import translation

from exports.tests.websockets import handshake_headers


@pytest.fixture(autouse=True)
def default_language():
    """Task texts render in the active language, and a request in Spanish (the test client runs
    it in this thread) leaves Spanish active: every test starts from the default."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture
def ws_headers(client):
    """Headers of a browser logged in as ``user``: factory(user, origin=..., host=...)."""

    def make(user=None, **kwargs):
        cookie = None
        if user is not None:
            client.force_login(user)
            cookie = f"sessionid={client.cookies['sessionid'].value}"
        return handshake_headers(cookie, **kwargs)

    return make
