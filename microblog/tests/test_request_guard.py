"""Bad input sent to a real daphne gets a 400 or the form's error, never a 500.

NUL or undecodable bytes are refused by MalformedRequestGuard (microblog/request_guard.py).
"""

import urllib.parse

import pytest

from blog.models import Post
from testkit import processes
from testkit.factories import TaskFactory, UserFactory
from testkit.raw_http import (
    browser_headers,
    raw_request,
    raw_websocket_handshake,
    session_cookie,
)
from usertasks.models import Task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]

# Each reached the ORM with a NUL (a DataError, so a 500, on PostgreSQL) or decoded invalid UTF-8
# into U+FFFD; all are sent by a logged-in staff user with a valid CSRF token.
MALFORMED_URLS = {
    "NUL username in a profile URL": ("GET", "/user/%00/"),
    "NUL username in a follow URL": ("POST", "/user/%00/follow"),
    "NUL in an admin changelist filter": ("GET", "/admin/usertasks/task/?status=%00"),
    "NUL in an admin changelist search": ("GET", "/admin/accounts/user/?q=%00"),
    "NUL in an admin change URL": ("GET", "/admin/usertasks/task/%00/change/"),
    "NUL in a query string key": ("GET", "/explore/?%00=1"),
    "invalid UTF-8 in the path": ("GET", "/user/%FF/"),
    "invalid UTF-8 in the query string": ("GET", "/admin/accounts/user/?q=%C3"),
}
PAGES = ["/", "/explore/", "/user/{username}/", "/exports/", "/accounts/profile/", "/admin/"]
# As long as a real session key, or Django would not look it up.
NUL_SESSION_COOKIES = {
    "raw NUL bytes": b"sessionid=" + b"\x00" * 32,
    "quoted octal escapes": b'sessionid="' + b"\\000" * 32 + b'"',
}


@pytest.fixture(scope="module")
def shared_daphne(django_db_setup, tmp_path_factory):
    """One daphne for the module's tests: starting one costs a second of CPU, and these tests
    send requests only (each test's data is flushed after it, as with conftest's ``web``)."""
    directory = tmp_path_factory.mktemp("request-guard")
    process = processes.start_daphne(directory / "daphne.log", MEDIA_ROOT=directory / "media")
    yield process
    process.stop()


class _SinceTheTestBegan:
    """The shared daphne as a test sees it: ``output()`` holds only what it logged since."""

    def __init__(self, process):
        self.process, self.port, self.url = process, process.port, process.url
        self._start = len(process.output())

    def output(self):
        return self.process.output()[self._start :]


@pytest.fixture
def web(shared_daphne, transactional_db, redis_client):
    assert shared_daphne.alive(), shared_daphne.output()[-3000:]
    return _SinceTheTestBegan(shared_daphne)


@pytest.fixture
def staff(transactional_db):
    return UserFactory(is_staff=True, is_superuser=True)


def test_nul_or_invalid_utf8_in_a_url_gets_a_400_from_daphne(web, staff):
    TaskFactory(user=staff)
    headers = browser_headers(web.port, session_cookie(staff))

    statuses = {
        case: raw_request(web.port, method, url, headers).status
        for case, (method, url) in MALFORMED_URLS.items()
    }

    assert statuses == dict.fromkeys(MALFORMED_URLS, 400)
    assert "Traceback" not in web.output()


@pytest.mark.parametrize("cookie", NUL_SESSION_COOKIES.values(), ids=NUL_SESSION_COOKIES.keys())
def test_a_session_cookie_of_nuls_gets_a_400_on_every_page(web, staff, cookie):
    pages = [page.format(username=staff.username) for page in PAGES]

    statuses = {
        page: raw_request(web.port, "GET", page, {"Cookie": cookie}).status for page in pages
    }

    assert statuses == dict.fromkeys(pages, 400)
    assert "Traceback" not in web.output()


@pytest.mark.parametrize("cookie", NUL_SESSION_COOKIES.values(), ids=NUL_SESSION_COOKIES.keys())
def test_a_session_cookie_of_nuls_is_refused_at_the_websocket_handshake(web, cookie):
    headers = {"Cookie": cookie, "Origin": f"http://127.0.0.1:{web.port}"}

    status = raw_websocket_handshake(web.port, headers=headers)

    assert status in (400, 403)  # autobahn itself answers 400 to a raw NUL in a header
    assert "Traceback" not in web.output()


def test_well_formed_non_ascii_urls_cookies_and_websockets_pass_the_guard(web, staff):
    author = UserFactory(username="ünïcødé")
    TaskFactory(user=staff, status=Task.Status.RUNNING)
    cookie = session_cookie(staff)
    headers = browser_headers(web.port, cookie)
    profile = "/user/" + urllib.parse.quote(author.username) + "/"
    search = "/admin/accounts/user/?q=" + urllib.parse.quote("ünï")

    profile_page = raw_request(web.port, "GET", profile, headers)
    search_page = raw_request(web.port, "GET", search, headers)
    handshake = raw_websocket_handshake(web.port, headers=headers)

    assert (profile_page.status, search_page.status, handshake) == (200, 200, 101)
    assert "ünïcødé".encode() in profile_page.body
    assert "ünïcødé".encode() in search_page.body


def test_an_empty_or_json_post_to_home_shows_the_form_error_instead_of_a_500(web, user):
    headers = browser_headers(web.port, session_cookie(user))
    posts = {
        "no fields": ("application/x-www-form-urlencoded", b""),
        "a JSON body": ("application/json", b'{"body": "hello"}'),
    }

    responses = {
        case: raw_request(web.port, "POST", "/", {**headers, "Content-Type": kind}, body)
        for case, (kind, body) in posts.items()
    }

    assert {case: response.status for case, response in responses.items()} == dict.fromkeys(
        posts, 200
    )
    for response in responses.values():
        assert b"Your post was not published: Your post is empty." in response.body
    assert not Post.objects.exists()
    assert "Traceback" not in web.output()
