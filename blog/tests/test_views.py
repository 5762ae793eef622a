"""Posting, following, and the timeline, explore and profile pages (blog/views.py)."""

from datetime import timedelta

import pytest
from django.core.validators import ProhibitNullCharactersValidator
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from blog.models import Follow, Post
from testkit.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db

LIVE = "Your post is now live!"
NOT_PUBLISHED = "Your post was not published"


def post_error(message):
    """The markup forms/field.html renders for one error next to the body field."""
    return f'<div class="invalid-feedback d-block" id="id_body_errors"><div>{message}</div></div>'


def posts_at(*bodies, author):
    """Posts by ``author`` one minute apart, oldest first, in the order given."""
    start = timezone.now() - timedelta(days=1)
    return [
        PostFactory(author=author, body=body, timestamp=start + timedelta(minutes=i))
        for i, body in enumerate(bodies)
    ]


def assert_in_order(response, *bodies):
    content = response.content.decode()
    positions = [content.index(body) for body in bodies]
    assert positions == sorted(positions), f"{bodies} are not in this order on the page"


def count_articles(response):
    return response.content.decode().count("<article")


def follow_counts_html(followers, following):
    return (
        f'<span class="followers-count">{followers}</span>',
        f'<span class="following-count">{following}</span>',
    )


# Posting on /


def test_posting_creates_the_post_and_says_it_is_live(logged_in, user):
    response = logged_in.post("/", {"body": "Hello, world — ünïcødé 🎉"}, follow=True)

    assertRedirects(response, "/")
    assertContains(response, LIVE)
    post = Post.objects.get()
    assert (post.author, post.body) == (user, "Hello, world — ünïcødé 🎉")
    assertContains(response, "Hello, world — ünïcødé 🎉")


def test_empty_post_is_refused_with_a_message(logged_in):
    response = logged_in.post("/", {"body": ""})

    assert response.status_code == 200
    assertContains(response, NOT_PUBLISHED)
    assertContains(response, post_error("Your post is empty."), html=True)
    assert not Post.objects.exists()


@pytest.mark.parametrize(
    ("content_type", "data"),
    [("application/x-www-form-urlencoded", ""), ("application/json", '{"body": "hello"}')],
    ids=["no fields", "a JSON body"],
)
def test_post_without_a_body_field_is_refused_with_the_form_error(logged_in, content_type, data):
    response = logged_in.post("/", data, content_type=content_type)

    assert response.status_code == 200
    assertContains(response, NOT_PUBLISHED)
    assertContains(response, post_error("Your post is empty."), html=True)
    assert not Post.objects.exists()


def test_281_character_post_is_refused_with_a_message(logged_in):
    response = logged_in.post("/", {"body": "x" * 281})

    assert response.status_code == 200
    assertContains(response, NOT_PUBLISHED)
    message = "Posts are limited to 280 characters (this one has 281)."
    assertContains(response, post_error(message), html=True)
    assertNotContains(response, LIVE)
    assert not Post.objects.exists()


def test_280_character_post_is_accepted(logged_in):
    body = "é" * 279 + "🎉"

    response = logged_in.post("/", {"body": body}, follow=True)

    assertContains(response, LIVE)
    assert Post.objects.get().body == body


def test_post_with_a_nul_byte_is_refused_with_a_form_error(logged_in):
    response = logged_in.post("/", {"body": "before\x00after"})

    assert response.status_code == 200
    assertContains(response, NOT_PUBLISHED)
    assertContains(response, post_error(ProhibitNullCharactersValidator.message), html=True)
    assert not Post.objects.exists()


def test_one_megabyte_post_is_refused_with_a_form_error(logged_in):
    response = logged_in.post("/", {"body": "x" * 1024 * 1024})

    assert response.status_code == 200
    assertContains(response, NOT_PUBLISHED)
    message = "Posts are limited to 280 characters (this one has 1048576)."
    assertContains(response, post_error(message), html=True)
    assert not Post.objects.exists()


def test_anonymous_visitor_sees_the_landing_page(client):
    response = client.get("/")

    assert response.status_code == 200
    assertContains(response, 'href="/accounts/signup/"')
    assertNotContains(response, 'name="body"')


def test_anonymous_post_to_home_creates_no_post(client):
    client.post("/", {"body": "sneaky"})

    assert not Post.objects.exists()


# Following


def test_follow_and_unfollow_change_the_follow_rows_and_the_counts(logged_in, user, other_user):
    response = logged_in.post(f"/user/{other_user.username}/follow", follow=True)

    assertRedirects(response, f"/user/{other_user.username}/")
    assertContains(response, f"You are following {other_user.username}.")
    assert Follow.objects.filter(follower=user, followed=other_user).exists()
    for span in follow_counts_html(followers=1, following=0):
        assertContains(response, span, html=True)
    own_profile = logged_in.get(f"/user/{user.username}/")
    for span in follow_counts_html(followers=0, following=1):
        assertContains(own_profile, span, html=True)

    response = logged_in.post(f"/user/{other_user.username}/unfollow", follow=True)

    assertRedirects(response, f"/user/{other_user.username}/")
    assert not Follow.objects.filter(follower=user, followed=other_user).exists()
    for span in follow_counts_html(followers=0, following=0):
        assertContains(response, span, html=True)


def test_following_twice_keeps_one_follow(logged_in, user, other_user):
    logged_in.post(f"/user/{other_user.username}/follow")
    response = logged_in.post(f"/user/{other_user.username}/follow", follow=True)

    assert Follow.objects.filter(follower=user, followed=other_user).count() == 1
    for span in follow_counts_html(followers=1, following=0):
        assertContains(response, span, html=True)


@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_follow_and_unfollow_by_get_are_not_allowed(logged_in, other_user, action):
    response = logged_in.get(f"/user/{other_user.username}/{action}")

    assert response.status_code == 405
    assert not Follow.objects.exists()


def test_following_yourself_is_refused_with_a_message(logged_in, user):
    response = logged_in.post(f"/user/{user.username}/follow", follow=True)

    assertContains(response, "You cannot follow yourself.")
    assert not Follow.objects.exists()


def test_following_an_unknown_user_is_not_found(logged_in):
    response = logged_in.post("/user/nobody/follow")

    assert response.status_code == 404


@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_anonymous_follow_and_unfollow_redirect_to_log_in(client, other_user, action):
    url = f"/user/{other_user.username}/{action}"

    response = client.post(url)

    assertRedirects(response, f"/accounts/login/?next={url}", fetch_redirect_response=False)
    assert not Follow.objects.exists()


# Timeline, explore, profile


def test_timeline_shows_own_and_followed_posts_newest_first_but_not_others(logged_in, user):
    followed, stranger = UserFactory(), UserFactory()
    Follow.objects.create(follower=user, followed=followed)
    start = timezone.now() - timedelta(hours=1)
    PostFactory(author=user, body="own older", timestamp=start)
    PostFactory(author=followed, body="followed middle", timestamp=start + timedelta(minutes=1))
    PostFactory(author=stranger, body="stranger newest", timestamp=start + timedelta(minutes=2))
    PostFactory(author=user, body="own newest", timestamp=start + timedelta(minutes=3))

    response = logged_in.get("/")

    assert_in_order(response, "own newest", "followed middle", "own older")
    assertNotContains(response, "stranger newest")


def test_timeline_is_paginated_twenty_posts_a_page(logged_in, user):
    posts_at(*(f"post number {n:02}" for n in range(25)), author=user)

    first = logged_in.get("/")
    second = logged_in.get("/", {"older": first.context["page"].older})

    assert count_articles(first) == 20
    assertContains(first, "post number 24")
    assertContains(first, "post number 05")
    assertNotContains(first, "post number 04")
    assert count_articles(second) == 5
    assert_in_order(second, "post number 04", "post number 00")
    assertNotContains(second, "post number 05")


def test_explore_shows_everyones_posts_newest_first(client):
    start = timezone.now() - timedelta(hours=1)
    PostFactory(body="first by one", timestamp=start)
    PostFactory(body="second by another", timestamp=start + timedelta(minutes=1))
    PostFactory(body="third by a third", timestamp=start + timedelta(minutes=2))

    response = client.get("/explore/")

    assert response.status_code == 200
    assert_in_order(response, "third by a third", "second by another", "first by one")


def test_profile_shows_only_that_users_posts_newest_first(client, user, other_user):
    posts_at("mine older", "mine newer", author=user)
    PostFactory(author=other_user, body="not mine")

    response = client.get(f"/user/{user.username}/")

    assert response.status_code == 200
    assert_in_order(response, "mine newer", "mine older")
    assertNotContains(response, "not mine")


def test_profile_of_an_unknown_user_is_not_found(client):
    response = client.get("/user/nobody/")

    assert response.status_code == 404


# Query counts: a page costs the same number of queries however many authors are on it.

MAX_QUERIES = 15


def one_post_each(authors):
    return [PostFactory(author=author) for author in authors]


def authors_on_page(response):
    return {post.author_id for post in response.context["page"]}


def test_timeline_query_count_does_not_grow_with_twenty_followed_authors(
    logged_in, user, django_assert_max_num_queries, django_assert_num_queries
):
    authors = UserFactory.create_batch(20)
    Follow.objects.bulk_create(Follow(follower=user, followed=author) for author in authors)
    one_post_each(authors[:1])
    with django_assert_max_num_queries(MAX_QUERIES) as one_author:
        response = logged_in.get("/")
    assert len(authors_on_page(response)) == 1

    one_post_each(authors)
    one_post_each(authors)  # the newest 20 posts: one by each author, with a page after them
    with django_assert_num_queries(len(one_author)):
        response = logged_in.get("/")
    assert count_articles(response) == 20
    assert len(authors_on_page(response)) == 20


def test_explore_query_count_does_not_grow_with_twenty_authors(
    logged_in, django_assert_max_num_queries, django_assert_num_queries
):
    authors = UserFactory.create_batch(20)
    one_post_each(authors[:1])
    with django_assert_max_num_queries(MAX_QUERIES) as one_author:
        response = logged_in.get("/explore/")
    assert len(authors_on_page(response)) == 1

    one_post_each(authors)
    one_post_each(authors)
    with django_assert_num_queries(len(one_author)):
        response = logged_in.get("/explore/")
    assert count_articles(response) == 20
    assert len(authors_on_page(response)) == 20


def test_profile_query_count_does_not_grow_with_the_number_of_posts(
    logged_in, other_user, django_assert_max_num_queries, django_assert_num_queries
):
    url = f"/user/{other_user.username}/"
    PostFactory(author=other_user)
    with django_assert_max_num_queries(MAX_QUERIES) as one_post:
        logged_in.get(url)

    PostFactory.create_batch(40, author=other_user)
    with django_assert_num_queries(len(one_post)):
        response = logged_in.get(url)
    assert count_articles(response) == 20


def test_the_timeline_of_a_reader_with_no_task_nor_message_runs_six_queries(logged_in, user):
    """What a timeline page asks the database, pinned: the session, the user, the page's ids and
    its posts, the unread count and the task cards (none: one small query). A seventh is a
    per-page cost someone added (transaction statements aside: SAVEPOINT, SET LOCAL jit)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    authors = UserFactory.create_batch(3)
    Follow.objects.bulk_create(Follow(follower=user, followed=author) for author in authors)
    one_post_each(authors)
    logged_in.get("/")  # the first request may set the CSRF cookie; measure the next
    with CaptureQueriesContext(connection) as queries:
        response = logged_in.get("/")
    assert count_articles(response) == 3
    statements = [
        q["sql"]
        for q in queries
        if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "SET LOCAL"))
    ]
    tables = ["django_session", "accounts_user", "microblog_follow", "microblog_post"]
    tables += ["private_messages_message", "exports_task"]  # the navigation, then the cards
    assert len(statements) == len(tables), statements
    for sql, table in zip(statements, tables, strict=True):
        assert table in sql, (table, sql)
