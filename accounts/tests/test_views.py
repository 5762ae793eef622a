"""Sign-up and profile editing (accounts/views.py)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import SetPasswordMixin
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from accounts.tests.usernames import dot_segment_error
from testkit.factories import UserFactory

pytestmark = pytest.mark.django_db

SIGNUP_URL = "/accounts/signup/"
PROFILE_URL = "/accounts/profile/"
TAKEN = "An account with this e-mail address already exists."


def signup_data(**overrides):
    return {
        "username": "alice",
        "email": "alice@example.com",
        "password1": "a long enough passphrase",
        "password2": "a long enough passphrase",
        **overrides,
    }


def field_error(field, message):
    """The markup forms/field.html renders for one error next to its field."""
    return (
        f'<div class="invalid-feedback d-block" id="id_{field}_errors"><div>{message}</div></div>'
    )


def test_sign_up_creates_the_user_and_logs_them_in(client):
    response = client.post(SIGNUP_URL, signup_data(), follow=True)

    assertRedirects(response, "/")
    alice = get_user_model().objects.get(username="alice")
    assert alice.email == "alice@example.com"
    assert alice.check_password("a long enough passphrase")
    assert response.context["user"] == alice
    assert client.session["_auth_user_id"] == str(alice.pk)
    assertContains(response, "Welcome to Microblog, alice!")


def test_sign_up_with_an_e_mail_already_taken_in_another_case_is_refused_next_to_the_field(
    client,
):
    UserFactory(username="first", email="alice@example.com")

    response = client.post(SIGNUP_URL, signup_data(email="Alice@EXAMPLE.com"))

    assert response.status_code == 200
    assertContains(response, field_error("email", TAKEN), html=True)
    assert not get_user_model().objects.filter(username="alice").exists()
    assert "_auth_user_id" not in client.session


def test_sign_up_with_mismatched_passwords_shows_the_mismatch(client):
    response = client.post(SIGNUP_URL, signup_data(password2="a different passphrase"))

    assert response.status_code == 200
    mismatch = SetPasswordMixin.error_messages["password_mismatch"]
    assertContains(response, field_error("password2", mismatch), html=True)
    assert not get_user_model().objects.filter(username="alice").exists()


@pytest.mark.parametrize("username", [".", ".."])
def test_sign_up_with_a_username_no_url_can_hold_is_refused_next_to_the_field(client, username):
    """/user/../ is / in every browser: that profile could never be opened."""
    response = client.post(SIGNUP_URL, signup_data(username=username))

    assert response.status_code == 200
    assertContains(response, field_error("username", dot_segment_error(username)), html=True)
    assert not get_user_model().objects.exists()
    assert "_auth_user_id" not in client.session


def test_logged_in_user_visiting_sign_up_is_redirected_home(logged_in):
    response = logged_in.get(SIGNUP_URL)

    assertRedirects(response, "/")


def test_profile_edit_saves_and_shows_on_the_public_profile(logged_in, user):
    response = logged_in.post(
        PROFILE_URL, {"about_me": "I write short things.", "email": "new@example.com"}, follow=True
    )

    assertRedirects(response, f"/user/{user.username}/")
    assertContains(response, "Your changes have been saved.")
    assertContains(response, "I write short things.")
    user.refresh_from_db()
    assert user.about_me == "I write short things."
    assert user.email == "new@example.com"


def test_profile_edit_accepts_your_own_e_mail_in_another_case(logged_in, user):
    local, domain = user.email.split("@")
    shouted = f"{local.upper()}@{domain}"

    response = logged_in.post(PROFILE_URL, {"about_me": "", "email": shouted})

    assertRedirects(response, f"/user/{user.username}/")
    user.refresh_from_db()
    assert user.email == shouted


def test_profile_edit_with_an_e_mail_taken_by_someone_else_is_refused(logged_in, user, other_user):
    response = logged_in.post(
        PROFILE_URL, {"about_me": "Changed", "email": other_user.email.upper()}
    )

    assert response.status_code == 200
    assertContains(response, field_error("email", TAKEN), html=True)
    assertNotContains(response, "Your changes have been saved.")
    user.refresh_from_db()
    assert user.email != other_user.email.upper()
    assert user.about_me == ""


def test_profile_edit_requires_log_in(client):
    response = client.get(PROFILE_URL)

    assertRedirects(response, f"/accounts/login/?next={PROFILE_URL}", fetch_redirect_response=False)
