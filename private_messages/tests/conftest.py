import pytest

from exports.tests.conftest import default_language, ws_headers  # noqa: F401 - fixtures
from microblog.testing.factories import UserFactory
from private_messages.models import Message


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


def send(sender, recipient, body="Hello"):
    return Message.objects.create(sender=sender, recipient=recipient, body=body)
