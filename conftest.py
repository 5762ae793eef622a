"""Fixtures shared by every app's tests: factories, Redis, real processes, a real browser."""

import os
import shutil

import pytest
import redis
from django.conf import settings
from django.db import connections
from django.utils import translation

from devtools.embedded_redis import EmbeddedRedis
from testkit import processes
from testkit.communicators import handshake_headers
from testkit.factories import PASSWORD, UserFactory
from testkit.missing import missing

# Chromium's headless shell (Debian package chromium-headless-shell), which Playwright itself
# runs for headless tests: the same engine as the full browser, a third less CPU per test.
CHROMIUM = "/usr/bin/chromium-headless-shell"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def redis_client():
    """The session's own Redis: empty at the start of each test, flushed after it."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushall()
    yield client
    client.flushall()
    client.close()


@pytest.fixture
def private_redis():
    """A Redis of the test's own, which it may stop and start again on the same port: the
    servers it has run, the current one last."""
    servers = [EmbeddedRedis(port=processes.private_port()).start()]
    yield servers
    servers[-1].stop()


@pytest.fixture
def smtp_server():
    """A real local SMTP server (aiosmtpd) that keeps what it receives in ``.messages``."""
    from testkit.smtp import LocalSMTPServer

    server = LocalSMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def worker(transactional_db, redis_client, media_root, smtp_server, tmp_path):
    """A real `manage.py rqworker` process on the test database and Redis, mailing via SMTP."""
    process = processes.start_worker(
        tmp_path / "worker.log", MEDIA_ROOT=media_root, **smtp_server.env()
    )
    yield process
    process.stop()


@pytest.fixture
def web(transactional_db, redis_client, media_root, tmp_path):
    """A real daphne process serving HTTP and websockets on a free loopback port."""
    process = processes.start_daphne(tmp_path / "daphne.log", MEDIA_ROOT=media_root)
    yield process
    process.stop()


def _chromium_missing():
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return None
    missing(f"{CHROMIUM} is not installed (apt-get install chromium-headless-shell)")


@pytest.fixture
def browser():
    """Real headless Chromium. Function-scoped: Playwright's sync API holds an event loop in this
    thread while it runs, which would break async_to_sync in the tests that follow."""
    _chromium_missing()
    from playwright.sync_api import sync_playwright

    # That loop also makes Django refuse ORM calls from the test itself. Only this test process
    # is exempted: servers under test never see the variable (processes.child_env drops it).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
            # ORM calls made while Playwright runs open their own connections (its greenlet has
            # its own context), which would outlive the test and keep the test database from
            # being dropped at the end of the run: close them here, in that context.
            connections.close_all()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def pytest_collection_modifyitems(items):
    """Tests marked `longest` first: pytest-xdist hands out tests in collection order, and the
    soak (nearly two minutes) started at the end was the last to finish, a minute after the
    others. Only the longest few: starting every slow test at once made the run slower."""
    items.sort(key=lambda item: item.get_closest_marker("longest") is None)


@pytest.fixture(autouse=True)
def page_cache_off(settings):
    """In-process tests run in a transaction that never commits, and the page cache learns of a
    change only once its commit is done (pagecache/__init__.py): they render every page. The
    cache's own tests turn it on with committed writes; servers under test have it on."""
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture
def page_cache(settings, transactional_db, redis_client):
    settings.PAGE_CACHE_SECONDS = 30
    return redis_client


@pytest.fixture(autouse=True)
def default_language():
    """Task texts render in the active language, and a request in Spanish (the test client runs
    it in this thread) leaves Spanish active: every test starts from the default."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture
def ws_headers(client):
    """Headers of a browser logged in as ``user``: factory(user, origin=..., host=...)."""

    def make(user=None, **kwargs):
        cookie = None
        if user is not None:
            client.force_login(user)
            cookie = f"sessionid={client.cookies['sessionid'].value}"
        return handshake_headers(cookie, **kwargs)

    return make
