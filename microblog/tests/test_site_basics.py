"""Small things a visitor or a probe notices: HEAD, the favicon, the log-out confirmation."""

import re

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/explore/", "/accounts/login/", "/accounts/signup/"])
def test_load_balancers_and_uptime_checks_may_probe_pages_with_head(client, path):
    response = client.head(path)

    assert response.status_code == 200
    assert response.content == b""


def test_the_home_page_answers_head_for_a_logged_in_user_too(logged_in):
    assert logged_in.head("/").status_code == 200


def test_the_favicon_that_browsers_ask_the_admin_for_is_no_404(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 204
    assert "max-age=86400" in response["Cache-Control"]


def test_logging_out_says_so_on_the_next_page(logged_in):
    response = logged_in.post("/accounts/logout/", follow=True)

    assert response.status_code == 200
    assert "You have been logged out." in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_logging_out_when_already_logged_out_says_nothing(client):
    response = client.post("/accounts/logout/", follow=True)

    assert "You have been logged out." not in response.content.decode()


def test_logging_out_says_so_in_spanish_too(logged_in):
    response = logged_in.post("/accounts/logout/", follow=True, HTTP_ACCEPT_LANGUAGE="es")

    assert "Has cerrado la sesión." in response.content.decode()


@pytest.mark.parametrize(
    ("path", "current"),
    [("/", "Home"), ("/explore/", "Explore"), ("/exports/", "Exports"), ("/user/{me}/", "Profile")],
)
def test_the_navbar_marks_the_page_the_visitor_is_on(logged_in, user, path, current):
    html = logged_in.get(path.format(me=user.username)).content.decode()

    marked = re.findall(r'class="nav-link active" aria-current="page" href="[^"]*">([^<]+)<', html)
    assert marked == [current]


def test_another_users_profile_marks_no_navbar_link(logged_in, other_user):
    html = logged_in.get(f"/user/{other_user.username}/").content.decode()

    assert 'aria-current="page"' not in html
