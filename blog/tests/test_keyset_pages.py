"""Keyset pages (keyset/__init__.py): "Older" and "Newer" links from a signed cursor, on the
timeline, explore, profiles and the task histories."""

import html
import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from blog.models import Follow, Post
from testkit.factories import PostFactory, TaskFactory, UserFactory
from usertasks.models import Task

pytestmark = pytest.mark.django_db

LINK = re.compile(r'href="\?(older|newer)=([^"]+)"')


def links(response):
    assert response.status_code == 200
    found = LINK.findall(response.content.decode())
    return {name: unquote(html.unescape(value)) for name, value in found}


def bodies(response):
    return [post.body for post in response.context["page"]]


def walk(client, url, direction, start=None):
    """The pages met following `direction` links from `start` (the first page if None)."""
    response = client.get(url, start or {})
    pages = [response]
    while direction in links(response):
        response = client.get(url, {direction: links(response)[direction]})
        pages.append(response)
        assert len(pages) < 100, "the links go round in circles"
    return pages


def tied_posts(author_for, count, *, tie=3):
    """`count` posts, `tie` of them at each moment, in groups that straddle every page boundary
    (20 is not a multiple of 3). Newest first, in the order pages must show them."""
    start = timezone.now() - timedelta(days=1)
    posts = [
        PostFactory(
            author=author_for(n),
            body=f"post {n:03}",
            timestamp=start + (n // tie) * timedelta(seconds=1),
        )
        for n in range(count)
    ]
    return [post.body for post in sorted(posts, key=lambda p: (p.timestamp, p.pk), reverse=True)]


@pytest.fixture
def page_of(logged_in, user):
    """The three post pages, each with the posts it shows: returns (url, author_for)."""
    followed = UserFactory()
    Follow.objects.create(follower=user, followed=followed)
    stranger = UserFactory()
    return {
        # The reader's own and a followed author's posts, alternating.
        "timeline": ("/", lambda n: user if n % 2 else followed),
        "explore": ("/explore/", lambda n: user if n % 2 else stranger),
        "profile": (f"/user/{user.username}/", lambda n: user),
    }


@pytest.mark.parametrize("name", ["timeline", "explore", "profile"])
@pytest.mark.parametrize("tie", [3, 45])
def test_older_links_show_every_post_once_in_order_with_ties_at_the_page_boundaries(
    logged_in, page_of, name, tie
):
    url, author_for = page_of[name]
    expected = tied_posts(author_for, 45, tie=tie)

    pages = walk(logged_in, url, "older")

    assert [len(bodies(page)) for page in pages] == [20, 20, 5]
    assert [body for page in pages for body in bodies(page)] == expected


@pytest.mark.parametrize("name", ["timeline", "explore", "profile"])
def test_newer_links_come_back_through_the_same_pages(logged_in, page_of, name):
    url, author_for = page_of[name]
    tied_posts(author_for, 45)
    older = walk(logged_in, url, "older")

    last = links(older[1])["older"]
    newer = walk(logged_in, url, "newer", {"older": last})

    assert [bodies(page) for page in reversed(newer)] == [bodies(page) for page in older]
    assert "newer" not in links(older[0])
    assert "older" in links(newer[-1])


def test_a_newer_page_stays_put_when_posts_arrive_meanwhile(logged_in, user):
    tied_posts(lambda n: user, 45)
    first, second, _ = walk(logged_in, "/", "older")
    PostFactory(author=user, body="brand new")

    back = logged_in.get("/", {"newer": links(second)["newer"]})

    assert bodies(back) == bodies(first)
    assert "newer" in links(back)


def test_a_post_between_pages_deleted_meanwhile_skips_nothing_else(logged_in, user):
    expected = tied_posts(lambda n: user, 45)
    first = logged_in.get("/")
    Post.objects.filter(body=expected[19]).delete()  # the cursor's own row

    second = logged_in.get("/", {"older": links(first)["older"]})

    assert bodies(second) == expected[20:40]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "",
        "WzEsMl0:" + "A" * 43,  # a well-formed signed value with a wrong signature
        signing.Signer(salt="keyset.timestamp.pk").sign_object(["x", None]),
        signing.Signer(salt="keyset.timestamp.pk").sign_object([1, 2, 3]),
        signing.Signer(salt="keyset.timestamp.pk").sign_object([10**30, 1]),
        signing.Signer(salt="keyset.created_at.pk").sign_object([0, 1]),  # a task's
        signing.Signer(salt="keyset.timestamp.pk").sign_object([0, "abc"]),
    ],
)
def test_a_bad_or_tampered_cursor_gives_the_first_page(logged_in, page_of, cursor):
    for name, (url, author_for) in page_of.items():
        expected = tied_posts(author_for, 21)
        for direction in ("older", "newer"):
            response = logged_in.get(url, {direction: cursor})

            assert response.status_code == 200, (name, direction)
            assert bodies(response) == expected[:20], (name, direction)
        Post.objects.all().delete()


def test_an_edited_cursor_gives_the_first_page(logged_in, user):
    expected = tied_posts(lambda n: user, 45)
    cursor = links(logged_in.get("/"))["older"]
    value, signature = cursor.rsplit(":", 1)
    forged = signing.b64_encode(b"[0,999999]").decode() + ":" + signature

    assert bodies(logged_in.get("/", {"older": forged})) == expected[:20]
    assert bodies(logged_in.get("/", {"older": value + ":" + signature[::-1]})) == expected[:20]


@pytest.mark.parametrize("name", ["timeline", "explore", "profile"])
def test_a_page_neither_counts_nor_skips_an_offset(logged_in, page_of, name):
    url, author_for = page_of[name]
    tied_posts(author_for, 45)
    second_cursor = links(logged_in.get(url))["older"]

    with CaptureQueriesContext(connection) as queries:
        response = logged_in.get(url, {"older": second_cursor})

    assert len(bodies(response)) == 20
    # The counts a page shows aside: the profile's follow counts
    # (test_follow_counts_are_the_only_counts_on_a_profile) and the navigation's unread
    # messages, one range of the recipient's index (private_messages/tests/test_pages.py).
    shown = ("microblog_follow", "private_messages_message")
    sql = " ".join(
        q["sql"].upper() for q in queries if not any(table in q["sql"] for table in shown)
    )
    assert "COUNT(" not in sql
    assert "OFFSET" not in sql


def test_follow_counts_are_the_only_counts_on_a_profile(client, user):
    """The profile counts followers and following (small, indexed sets), never its posts."""
    tied_posts(lambda n: user, 25)
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/user/{user.username}/")
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 2
    assert all("microblog_follow" in sql for sql in counts)


@pytest.mark.parametrize(("url", "name"), [("/exports/", None), ("/imports/", "import_posts")])
def test_task_history_pages_show_every_task_once_with_tied_start_times(logged_in, user, url, name):
    kind = name or "export_posts"
    tasks = TaskFactory.create_batch(
        45,
        user=user,
        kind=kind,
        status=Task.Status.SUCCEEDED,
        finished_at=timezone.now() - timedelta(days=1),
    )
    start = timezone.now() - timedelta(days=1)
    for n, task in enumerate(tasks):
        Task.objects.filter(pk=task.pk).update(created_at=start + (n // 3) * timedelta(hours=1))
    expected = [task.pk for task in Task.objects.filter(user=user).order_by("-created_at", "-pk")]

    pages = walk(logged_in, url, "older")

    shown = [[task.pk for task in page.context["tasks"]] for page in pages]
    assert [len(ids) for ids in shown] == [20, 20, 5]
    assert [pk for ids in shown for pk in ids] == expected
    back = walk(logged_in, url, "newer", {"older": links(pages[1])["older"]})
    assert [[t.pk for t in page.context["tasks"]] for page in reversed(back)] == shown
    assert logged_in.get(url, {"older": "tampered"}).context["tasks"].rows[0].pk == expected[0]


def test_the_links_are_translated(logged_in, user):
    tied_posts(lambda n: user, 45)
    second = logged_in.get("/", {"older": links(logged_in.get("/"))["older"]})
    assert ">Newer posts<" in second.content.decode()
    assert ">Older posts<" in second.content.decode()

    spanish = logged_in.get(
        "/", {"older": links(second)["older"]}, HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9"
    ).content.decode()

    assert ">Publicaciones más recientes<" in spanish
    assert ">Older posts<" not in spanish
