"""Small things a visitor or a probe notices: HEAD, the favicon, the log-out confirmation."""

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
