"""The timeline's first page from the page cache (blog/timeline_page.py, pagecache/): served
again while nothing it shows changed, rendered again as soon as something did, and never
another browser's or another reader's page."""

import re
import threading
from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from blog import services
from blog.models import Post
from blog.seeding import seed_posts
from imports.publishing import Pacer, insert_batch
from redis_clients import RedisConfig
from testkit.factories import PASSWORD, PostFactory, TaskFactory, UserFactory
from testkit.visitor import Visitor

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def reader(page_cache):
    return UserFactory(username="reader")


@pytest.fixture
def author(page_cache, reader):
    author = UserFactory(username="author")
    services.follow(follower=reader, followed=author)
    return author


def browser(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


def load(client):
    """The timeline, and whether it was served from the cache (no query on posts)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200
    return response.text, not any("microblog_post" in q["sql"] for q in queries)


def without_tokens(html):
    return CSRF_INPUT.sub('name="csrfmiddlewaretoken" value=""', html)


def test_a_reload_is_served_from_the_cache_and_is_the_page_rendered_afresh(
    reader, author, settings
):
    PostFactory(author=author, body="Hello from the author")
    client = browser(reader)
    first, cached = load(client)
    assert not cached and "Hello from the author" in first
    again, cached = load(client)
    assert cached
    settings.PAGE_CACHE_SECONDS = 0
    afresh, cached = load(client)
    assert not cached
    assert without_tokens(again) == without_tokens(afresh) == without_tokens(first)
    # Each response masks the CSRF token anew, as Django does: none is copied from the cache.
    tokens = [CSRF_INPUT.findall(html) for html in (first, again)]
    assert len(tokens[0]) >= 3 and len(set(tokens[1])) == 1
    assert set(tokens[0]).isdisjoint(tokens[1])


def test_a_cached_page_posts_with_the_csrf_token_of_the_browser_that_loads_it(reader, author):
    PostFactory(author=author)
    phone, laptop = (browser(reader, enforce_csrf_checks=True) for _ in range(2))
    assert not load(phone)[1]
    html, cached = load(laptop)
    assert cached and phone.cookies["csrftoken"].value != laptop.cookies["csrftoken"].value
    token = CSRF_INPUT.search(html)[1]
    response = laptop.post("/", {"body": "Posted from a cached page", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Post.objects.filter(author=reader, body="Posted from a cached page").exists()
    # The phone's cookie with the laptop's token: refused, as on any page.
    assert phone.post("/", {"body": "x", "csrfmiddlewaretoken": token}).status_code == 403


def test_each_reader_gets_their_own_page(reader, author):
    other = UserFactory(username="someone_else")
    PostFactory(author=author, body="Only for followers")
    assert load(browser(reader))[0].count("Only for followers") == 1
    html, _ = load(browser(other))
    assert "Hi, someone_else!" in html and "Only for followers" not in html


def import_one(author):
    insert_batch(task_id="t1", author_id=author.pk, posts=[("NEW", timezone.now())], pacer=Pacer())


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda author, reader: PostFactory(author=author), id="post"),
        pytest.param(
            lambda author, reader: services.post_create(author=reader, body="Mine"), id="own"
        ),
        pytest.param(lambda author, reader: seed_posts(author=author, count=1), id="bulk seed"),
        pytest.param(lambda author, reader: import_one(author), id="import batch"),
    ],
)
def test_a_new_post_on_the_timeline_shows_on_the_next_load(reader, author, change):
    PostFactory(author=author, timestamp=timezone.now() - timedelta(hours=1))
    client = browser(reader)
    load(client)
    html, cached = load(client)
    assert cached and html.count("<article") == 1
    change(author, reader)
    html, cached = load(client)
    assert not cached and html.count("<article") == 2


def test_following_unfollowing_and_renaming_show_on_the_next_load(reader, author):
    stranger = UserFactory(username="stranger")
    PostFactory(author=stranger, body="A post by a stranger")
    PostFactory(author=author, body="A post by the author")
    client = browser(reader)
    assert "A post by a stranger" not in load(client)[0]
    services.follow(follower=reader, followed=stranger)
    assert "A post by a stranger" in load(client)[0]
    services.unfollow(follower=reader, followed=author)
    assert "A post by the author" not in load(client)[0]
    assert load(client)[1]
    stranger.username = "renamed"
    stranger.save()
    html, cached = load(client)
    assert not cached and 'href="/user/renamed/"' in html


def test_a_log_in_elsewhere_does_not_throw_the_followers_pages_away(reader, author):
    PostFactory(author=author)
    client = browser(reader)
    load(client)
    browser(author)  # force_login saves last_login only
    assert load(client)[1]


def test_posts_deleted_in_the_admin_leave_the_timeline(reader, author, admin_user):
    _, gone, also_gone = (PostFactory(author=author, body=body) for body in "ABC")
    client = browser(reader)
    load(client)
    request = RequestFactory().post("/admin/")
    request.user = admin_user
    model_admin = admin.site._registry[Post]
    model_admin.delete_model(request, gone)
    html = load(client)[0]
    assert ">B<" not in html and ">C<" in html
    model_admin.delete_queryset(request, Post.objects.filter(pk=also_gone.pk))
    html = load(client)[0]
    assert ">C<" not in html and ">A<" in html


def test_an_authors_deleted_account_leaves_the_timeline(reader, author):
    PostFactory(author=author, body="Soon gone")
    client = browser(reader)
    load(client)
    author.delete()
    assert "Soon gone" not in load(client)[0]


def test_flashes_and_task_cards_are_the_requests_own_on_a_cached_page(reader, author):
    PostFactory(author=author)
    client = browser(reader)
    load(client)
    response = client.post("/", {"body": ""})  # refused: a flash on the page it renders
    assert "Your post was not published" in response.text
    html, cached = load(client)
    assert cached and "Your post was not published" not in html
    task = TaskFactory(user=reader, status="running", progress=42)
    html, cached = load(client)
    assert cached and f'data-task-id="{task.pk}"' in html and 'style="width: 42%"' in html


def test_a_post_body_cannot_forge_a_hole(reader, author):
    """The markers holes are cut at carry a nonce drawn for each render."""
    body = 'pagecache-0123456789abcdef0123456789abcdef-0. name="csrfmiddlewaretoken" value="'
    PostFactory(author=author, body=body)
    client = browser(reader)
    load(client)
    html, cached = load(client)
    assert cached
    assert "pagecache-0123456789abcdef0123456789abcdef-0. name=&quot;csrfmiddlewaretoken" in html


def test_a_page_with_a_post_under_a_minute_old_is_kept_a_second(reader, author, page_cache):
    client = browser(reader)
    PostFactory(author=author, timestamp=timezone.now() - timedelta(hours=1))
    load(client)
    (key,) = page_cache.keys("pagecache:page:*")
    assert 20 < page_cache.ttl(key) <= 30
    PostFactory(author=author)  # now
    load(client)
    (key,) = page_cache.keys("pagecache:page:*")
    assert page_cache.ttl(key) == 1


def test_older_pages_are_not_kept(reader, author, page_cache):
    seed_posts(author=author, count=30)
    client = browser(reader)
    html = client.get("/").text
    older = re.search(r'href="(\?older=[^"]+)"', html)[1]
    page_cache.flushall()
    assert client.get("/" + older.replace("&amp;", "&")).status_code == 200
    assert page_cache.keys("pagecache:page:*") == []


@pytest.mark.fault
def test_without_redis_the_timeline_is_rendered_on_every_request(reader, author, settings):
    PostFactory(author=author, body="Still here")
    settings.REDIS = RedisConfig(url="redis://127.0.0.1:1/0")  # nothing listens on port 1
    client = browser(reader)
    for _ in range(2):
        html, cached = load(client)
        assert not cached and "Still here" in html
    services.post_create(author=author, body="Written while Redis is away")
    assert "Written while Redis is away" in load(client)[0]


@pytest.mark.fault
def test_through_daphne_under_load_a_followed_authors_post_shows_on_the_next_load(
    web, page_cache, reader, author
):
    """A real server, the reader's page reloaded without pause in another tab (so a cached copy
    is always there to be served), and other users posting meanwhile: each of the author's
    posts is on the reader's very next load once the author's POST has been answered."""
    bystander = UserFactory(username="bystander")
    services.follow(follower=reader, followed=bystander)
    reader_tab, other_tab = Visitor(web.url), Visitor(web.url)
    for tab in (reader_tab, other_tab):
        tab.log_in(reader.username, PASSWORD)
    writer, chatter = Visitor(web.url), Visitor(web.url)
    writer.log_in(author.username, PASSWORD)
    chatter.log_in(bystander.username, PASSWORD)
    stop, loads, chats = threading.Event(), [], []

    def reload_other_tab():
        while not stop.is_set():
            loads.append(other_tab.get("/").status_code)

    def bystander_posts():
        while not stop.is_set():
            chats.append(chatter.post("/", {"body": f"chatter {len(chats)}"}).status_code)

    threads = [threading.Thread(target=reload_other_tab), threading.Thread(target=bystander_posts)]
    for thread in threads:
        thread.start()
    try:
        for i in range(15):
            assert writer.post("/", {"body": f"Post number {i} by the author"}).ok
            page = reader_tab.get("/").text
            assert f"Post number {i} by the author" in page, f"post {i} missing after its POST"
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert set(loads) == {200} and len(loads) >= 15
    assert set(chats) == {200} and len(chats) >= 2
    assert page_cache.keys("pagecache:page:*"), "the reader's page was never kept"


def test_a_page_that_holds_a_nul_is_rendered_every_time(reader, author, page_cache):
    """NUL separates a stored page's parts: a page holding one (a post written past the form's
    validation; PostgreSQL refuses NUL in text) is never stored."""
    if connection.vendor != "sqlite":
        pytest.skip("needs SQLite: PostgreSQL refuses a NUL in text")
    PostFactory(author=author, body="before\x00after")
    client = browser(reader)
    for _ in range(2):
        html, cached = load(client)
        assert not cached and "before\x00after" in html
    assert page_cache.keys("pagecache:page:*") == []
