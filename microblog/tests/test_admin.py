"""The post changelist in the Django admin (blog/admin.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from testkit.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_superuser_searches_and_filters_the_post_changelist(admin_client):
    now = timezone.now()
    PostFactory(body="a recent post about kittens", timestamp=now)
    PostFactory(body="an old post about kittens", timestamp=now - timedelta(days=30))
    PostFactory(body="a recent post about dogs", timestamp=now)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)

    # The "Past 7 days" choice of the timestamp DateFieldListFilter, with its own parameters.
    response = admin_client.get(
        "/admin/microblog/post/",
        {
            "q": "kittens",
            "timestamp__gte": str(midnight - timedelta(days=7)),
            "timestamp__lt": str(midnight + timedelta(days=1)),
        },
    )

    assert response.status_code == 200
    assertContains(response, "a recent post about kittens")
    assertNotContains(response, "an old post about kittens")
    assertNotContains(response, "a recent post about dogs")


def test_superuser_searches_posts_by_author_username(admin_client):
    PostFactory(author=UserFactory(username="zoe"), body="written by zoe")
    PostFactory(body="written by someone else")

    response = admin_client.get("/admin/microblog/post/", {"q": "zoe"})

    assert response.status_code == 200
    assertContains(response, "written by zoe")
    assertNotContains(response, "written by someone else")
