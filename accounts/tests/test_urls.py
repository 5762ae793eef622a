"""Django's own log-in, log-out and password-reset views as wired in accounts/urls.py."""

import re

import pytest
from pytest_django.asserts import assertContains, assertRedirects

pytestmark = pytest.mark.django_db

RESET_LINK = re.compile(r"https?://[^/\s]+(/accounts/reset/[^/\s]+/[^/\s]+/)")


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


def test_password_reset_mails_a_link_that_sets_a_new_password(client, user, mailoutbox):
    response = client.post("/accounts/password_reset/", {"email": user.email})

    assertRedirects(response, "/accounts/password_reset/done/")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [user.email]
    link = RESET_LINK.search(mail.body)
    assert link, mail.body

    # The link with the token redirects to a token-free URL, so the token never leaks in a Referer.
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    set_password_url = form_page.redirect_chain[-1][0]
    assert set_password_url.endswith("/set-password/")

    new_password = "a brand new passphrase"
    done = client.post(
        set_password_url, {"new_password1": new_password, "new_password2": new_password}
    )
    assertRedirects(done, "/accounts/reset/done/")

    client.logout()
    assert client.login(username=user.username, password=new_password)
    user.refresh_from_db()
    assert user.check_password(new_password)


def test_password_reset_for_an_unknown_e_mail_sends_nothing(client, mailoutbox):
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})

    assertRedirects(response, "/accounts/password_reset/done/")
    assert mailoutbox == []
