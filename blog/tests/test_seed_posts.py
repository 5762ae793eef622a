"""`manage.py seed_posts USERNAME COUNT` (blog/management/commands/seed_posts.py)."""

from itertools import pairwise

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from blog.models import Post
from testkit.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def seed(*args):
    call_command("seed_posts", *map(str, args), stdout=None)


def timestamps(posts):
    return [post.timestamp for post in posts]


def assert_strictly_increasing(values):
    assert all(earlier < later for earlier, later in pairwise(values))


def test_seeding_creates_the_user_and_posts_with_increasing_timestamps_and_non_ascii_text():
    seed("bob", 50, "--password", "pw12345678", "--email", "bob@example.org")

    bob = get_user_model().objects.get(username="bob")
    assert bob.email == "bob@example.org"
    assert bob.check_password("pw12345678")
    posts = list(Post.objects.filter(author=bob).order_by("id"))
    assert len(posts) == 50
    assert_strictly_increasing(timestamps(posts))
    assert any(not post.body.isascii() for post in posts)
    assert all(0 < len(post.body) <= 280 for post in posts)


def test_seeded_user_can_log_in_with_the_password(client):
    seed("bob", 0, "--password", "pw12345678")

    assert client.login(username="bob", password="pw12345678")


def test_seeding_again_appends_posts_after_the_previous_ones():
    seed("bob", 50)
    first_run = list(Post.objects.filter(author__username="bob").order_by("id"))

    seed("bob", 50)

    second_run = list(Post.objects.filter(author__username="bob", id__gt=first_run[-1].id))
    second_run.sort(key=lambda post: post.id)
    assert len(second_run) == 50
    assert_strictly_increasing(timestamps(first_run + second_run))


def test_seeding_an_existing_user_keeps_their_posts_and_password(password):
    bob = UserFactory(username="bob")
    PostFactory(author=bob, body="written by hand")

    seed("bob", 5, "--password", "something else")

    bob.refresh_from_db()
    assert bob.check_password(password)
    assert Post.objects.filter(author=bob).count() == 6
    newest = Post.objects.filter(author=bob).order_by("-timestamp").first()
    assert newest.body != "written by hand"


def test_seeded_posts_are_found_by_their_exact_timestamp():
    seed("bob", 3)

    for post in Post.objects.filter(author__username="bob"):
        assert Post.objects.filter(timestamp=post.timestamp).get() == post


def test_seeding_zero_posts_creates_the_user_only():
    seed("bob", 0)

    assert get_user_model().objects.filter(username="bob").exists()
    assert not Post.objects.exists()


def test_seeding_a_negative_count_is_an_error():
    with pytest.raises(CommandError):
        seed("bob", -1)

    assert not get_user_model().objects.filter(username="bob").exists()
