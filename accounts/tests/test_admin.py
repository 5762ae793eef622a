"""The user pages of the Django admin (accounts/admin.py)."""

import pytest
from pytest_django.asserts import assertContains, assertNotContains

from accounts.models import User
from accounts.tests.usernames import dot_segment_error
from testkit.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_superuser_searches_and_filters_the_user_changelist_sorted_by_post_count(admin_client):
    PostFactory(author=UserFactory(username="a-writer", is_staff=True))
    PostFactory.create_batch(3, author=UserFactory(username="z-writer", is_staff=True))
    PostFactory.create_batch(5, author=UserFactory(username="plain-writer"))

    # Columns: username, email, date_joined, last_login, post_count (5), is_staff.
    response = admin_client.get(
        "/admin/accounts/user/", {"q": "writer", "is_staff__exact": "1", "o": "-5"}
    )

    assert response.status_code == 200
    assertContains(response, "z-writer")
    assertNotContains(response, "plain-writer")
    shown = [(user.username, user._post_count) for user in response.context["cl"].result_list]
    assert shown == [("z-writer", 3), ("a-writer", 1)]


def test_adding_a_user_named_two_dots_in_the_admin_is_refused(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "..",
            "usable_password": "true",
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
        },
    )

    assert response.status_code == 200
    assertContains(response, dot_segment_error(".."))
    assert not User.objects.filter(username="..").exists()
