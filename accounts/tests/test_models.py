"""The User model (accounts/models.py): usernames must work in a profile URL."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from accounts.models import User
from accounts.tests.usernames import dot_segment_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("username", [".", ".."])
def test_a_username_of_one_or_two_dots_fails_full_clean(username):
    user = User(username=username, email="dots@example.com", password="!")

    with pytest.raises(ValidationError) as refused:
        user.full_clean()

    assert refused.value.message_dict == {"username": [dot_segment_error(username)]}


@pytest.mark.parametrize("username", ["...", ".alice", "alice.", "a..b", "ünïcødé"])
def test_usernames_with_dots_among_other_characters_pass_full_clean_and_reach_their_profile(
    client, username
):
    user = User(username=username, email="dots@example.com", password="!")
    user.full_clean()
    user.save()

    assert client.get(user.get_absolute_url()).context["author"] == user


def test_createsuperuser_refuses_a_username_of_two_dots(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long enough passphrase")

    with pytest.raises(CommandError, match="cannot be a username"):
        call_command("createsuperuser", username="..", email="root@example.com", interactive=False)

    assert not User.objects.exists()
