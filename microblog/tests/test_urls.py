"""Permissions across the whole URLconf (microblog/urls.py): CSRF on every change, log-in walls."""

import pytest
from django.test import Client
from pytest_django.asserts import assertRedirects

from blog.models import Follow, Post
from testkit.factories import TaskFactory, UserFactory
from usertasks.models import Task

pytestmark = pytest.mark.django_db

# Every endpoint that changes something for a logged-in user, with a body it would accept.
STATE_CHANGING = {
    "posting": ("/", {"body": "hello"}),
    "follow": ("/user/{stranger}/follow", {}),
    "unfollow": ("/user/{followed}/unfollow", {}),
    "logout": ("/accounts/logout/", {}),
    "profile edit": ("/accounts/profile/", {"about_me": "changed", "email": "new@example.com"}),
    "export": ("/exports/", {}),
    "export cancel": ("/exports/{task}/cancel", {}),
}


@pytest.fixture
def csrf_client(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.fixture
def world(user):
    """A user who follows one person, not another, and has a queued export."""
    followed, stranger = UserFactory(), UserFactory()
    Follow.objects.create(follower=user, followed=followed)
    task = TaskFactory(user=user)
    return {"followed": followed.username, "stranger": stranger.username, "task": task.pk}


def snapshot(client, user):
    user.refresh_from_db()
    return {
        "posts": list(Post.objects.values_list("pk", flat=True)),
        "follows": list(Follow.objects.values_list("follower", "followed")),
        "tasks": list(Task.objects.values_list("pk", "status")),
        "profile": (user.about_me, user.email),
        "session user": client.session.get("_auth_user_id"),
    }


@pytest.mark.parametrize(("url", "data"), STATE_CHANGING.values(), ids=STATE_CHANGING.keys())
def test_state_changing_request_without_csrf_token_is_forbidden_and_changes_nothing(
    csrf_client, user, world, url, data
):
    before = snapshot(csrf_client, user)

    response = csrf_client.post(url.format(**world), data)

    assert response.status_code == 403
    assert b"CSRF verification failed" in response.content
    assert snapshot(csrf_client, user) == before


def test_the_same_post_with_its_csrf_token_is_accepted(csrf_client):
    csrf_client.get("/")
    token = csrf_client.cookies["csrftoken"].value

    response = csrf_client.post("/", {"body": "hello", "csrfmiddlewaretoken": token})

    assertRedirects(response, "/", fetch_redirect_response=False)
    assert Post.objects.filter(body="hello").exists()


@pytest.mark.parametrize("url", ["/accounts/profile/", "/exports/"])
def test_anonymous_visitor_is_sent_to_log_in(client, url):
    response = client.get(url)

    assertRedirects(response, f"/accounts/login/?next={url}", fetch_redirect_response=False)
