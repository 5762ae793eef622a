"""The keyset pages of /messages/: one indexed query for the messages of any page, however deep."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from private_messages import cursors
from private_messages.models import Message

pytestmark = pytest.mark.django_db

TOTAL = 10_000


def fill_inbox(alice, bob, count):
    start = timezone.now() - timedelta(days=30)
    Message.objects.bulk_create(
        Message(
            sender=bob, recipient=alice, body=f"message {n}", timestamp=start + timedelta(seconds=n)
        )
        for n in range(count)
    )
    return alice


@pytest.fixture
def inbox_of_alice(alice, bob):
    return fill_inbox(alice, bob, TOTAL)


def plan_of(sql):
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(explain + sql)
        return str(cursor.fetchall())


def bodies(html):
    return [int(n) for n in re.findall(r">message (\d+)<", html)]


def link(html, name):
    found = re.search(rf'href="(\?{name}=[^"]+)"', html)
    return found and found.group(1).replace("&amp;", "&")


def test_each_page_of_ten_thousand_messages_is_one_query_without_count_or_offset(
    client, inbox_of_alice
):
    client.force_login(inbox_of_alice)
    client.get("/messages/")  # marks them read: later visits only read
    path, seen = "/messages/", []
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            html = client.get(path).text
        # The session, its user, the page's messages, the task cards, and the read mark (first
        # page, which marks them read) or the navigation's unread count (later pages).
        assert len(queries) == 5, [q["sql"] for q in queries]
        (listing,) = [q["sql"] for q in queries if "LIMIT 21" in q["sql"] and "body" in q["sql"]]
        assert "COUNT(" not in listing.upper() and "OFFSET" not in listing.upper()
        assert "message_received" in plan_of(listing)
        seen += bodies(html)
        path = "/messages/" + link(html, "older")
    assert seen == list(range(TOTAL - 1, TOTAL - 61, -1))

    # Back: "Newer" from the third page shows the second again.
    second = client.get("/messages/" + link(html, "newer")).text
    assert bodies(second) == list(range(TOTAL - 21, TOTAL - 41, -1))


def test_the_deepest_page_has_no_older_link(client, alice, bob):
    client.force_login(fill_inbox(alice, bob, 30))
    oldest = Message.objects.order_by("timestamp")[20]
    html = client.get(f"/messages/?older={cursors.of(oldest)}").text
    assert bodies(html) == list(range(19, -1, -1))
    assert link(html, "older") is None
    assert link(html, "newer")


@pytest.mark.parametrize(
    "query",
    ["older=", "older=abc", "older=1-", "older=99999999999999999-1", "newer=-5-3", "older=1.5-2"],
)
def test_a_bad_cursor_gives_the_first_page(client, alice, bob, query):
    client.force_login(fill_inbox(alice, bob, 30))
    response = client.get(f"/messages/?{query}")
    assert response.status_code == 200
    assert bodies(response.text) == list(range(29, 9, -1))


def test_the_navigation_unread_count_is_the_unread_by_definition(alice, bob):
    """unread_count writes unread_by's rule out in SQL (it runs on every page): the two agree
    with no read mark, with one between messages, with ties at the mark, and after it."""
    from private_messages.models import ReadMark
    from private_messages.selectors import unread_count

    def agree():
        expected = Message.objects.unread_by(alice.pk).count()
        assert unread_count(alice.pk) == expected
        return expected

    assert agree() == 0
    fill_inbox(alice, bob, 10)
    assert agree() == 10
    middle = Message.objects.order_by("timestamp")[4].timestamp
    Message.objects.create(sender=bob, recipient=alice, body="tie", timestamp=middle)
    ReadMark.objects.create(user=alice, read_at=middle)
    assert agree() == 5
    ReadMark.objects.filter(user=alice).update(read_at=timezone.now())
    assert agree() == 0
    assert unread_count(bob.pk) == 0
