"""Django's own log-in and log-out views as wired in accounts/urls.py (password reset:
test_password_reset.py)."""

import pytest
from pytest_django.asserts import assertContains, assertRedirects

pytestmark = pytest.mark.django_db


def logged_in_user_id(client):
    return client.session.get("_auth_user_id")


def test_log_in_with_username_and_password_logs_the_user_in(client, user, password):
    response = client.post("/accounts/login/", {"username": user.username, "password": password})

    assertRedirects(response, "/", fetch_redirect_response=False)
    assert logged_in_user_id(client) == str(user.pk)


def test_log_in_with_a_wrong_password_shows_an_error_and_stays_anonymous(client, user):
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": "not the password"}
    )

    assert response.status_code == 200
    assertContains(response, "Please enter a correct username and password")
    assert logged_in_user_id(client) is None
    assert not response.context["user"].is_authenticated


def test_log_out_by_get_is_not_allowed_and_keeps_the_user_logged_in(logged_in, user):
    response = logged_in.get("/accounts/logout/")

    assert response.status_code == 405
    assert logged_in_user_id(logged_in) == str(user.pk)


def test_log_out_by_post_logs_the_user_out(logged_in):
    response = logged_in.post("/accounts/logout/")

    assertRedirects(response, "/", fetch_redirect_response=False)
    assert logged_in_user_id(logged_in) is None
