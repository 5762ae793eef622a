"""The password-reset request (accounts/views.py, services.py) and its e-mail (accounts/jobs.py),
in this process: the request only queues a job; the job looks the address up and mails."""

import re
import smtplib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django.asserts import assertRedirects

from accounts.jobs import send_password_reset
from testkit.factories import UserFactory
from testkit.jobs import queued_jobs, run_queued_jobs

pytestmark = pytest.mark.django_db

RESET_URL = "/accounts/password_reset/"
DONE_URL = "/accounts/password_reset/done/"
RESET_LINK = re.compile(r"https?://[^/\s]+(/accounts/reset/[^/\s]+/[^/\s]+/)")
SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es-ES,es;q=0.9"}


def test_a_reset_request_does_the_same_work_for_known_and_unknown_addresses(
    client, user, redis_client, mailoutbox
):
    work = {}
    for address in (user.email, "nobody@example.com"):
        with CaptureQueriesContext(connection) as queries:
            response = client.post(RESET_URL, {"email": address})
        (job,) = queued_jobs()
        assert job.kwargs["email"] == address
        work[address] = {
            "status": response.status_code,
            "location": response["Location"],
            "queries": [query["sql"] for query in queries],
            "job": (job.func_name, sorted(job.kwargs)),
        }
        redis_client.flushall()

    known, unknown = work.values()
    assert known == unknown
    assert known["location"] == DONE_URL
    assert known["job"][0] == "accounts.jobs.send_password_reset"
    # The lookup is the worker's: no query of the request can depend on the address.
    assert not [sql for sql in known["queries"] if "accounts_user" in sql]
    assert mailoutbox == []


def test_the_queued_reset_mails_a_link_that_sets_a_new_password(
    client, user, redis_client, mailoutbox
):
    response = client.post(RESET_URL, {"email": user.email})

    assertRedirects(response, DONE_URL)
    assert mailoutbox == []  # nothing is sent inside the request
    (job,) = run_queued_jobs()
    assert job.kwargs == {
        "email": user.email,
        "domain": "testserver",
        "use_https": False,
        "language": "en",
    }
    (mail,) = mailoutbox
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
    assert client.login(username=user.username, password=new_password)


def test_a_reset_for_an_unknown_or_inactive_address_sends_nothing(client, redis_client, mailoutbox):
    inactive = UserFactory(is_active=False)

    for address in ("nobody@example.com", inactive.email):
        assertRedirects(client.post(RESET_URL, {"email": address}), DONE_URL)

    assert len(run_queued_jobs()) == 2
    assert mailoutbox == []


def test_a_reset_mails_every_active_account_with_the_address_whatever_its_case(mailoutbox):
    first = UserFactory(email="Shared@Example.com")
    second = UserFactory(email="shared@example.com")

    send_password_reset(
        email="SHARED@example.com", domain="blog.example.com", use_https=True, language="en"
    )

    assert sorted(mail.to[0] for mail in mailoutbox) == sorted([first.email, second.email])
    assert all("https://blog.example.com/accounts/reset/" in mail.body for mail in mailoutbox)


def test_the_reset_e_mail_is_in_the_language_the_user_chose_over_the_request_language(
    client, redis_client, mailoutbox
):
    user = UserFactory(language="es")

    client.post(RESET_URL, {"email": user.email})
    run_queued_jobs()

    (mail,) = mailoutbox
    assert mail.subject == "[Microblog] Restablece tu contraseña"
    assert mail.body.startswith(f"Hola, {user.username}:")


def test_a_reset_e_mail_the_relay_refuses_fails_the_job_so_rq_retries_it(
    user, smtp_server, settings
):
    smtp_server.refuse = True
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": smtp_server.port, "timeout": 5},
        }
    }

    with pytest.raises(smtplib.SMTPException):
        send_password_reset(email=user.email, domain="testserver", use_https=False, language="en")


def test_a_reset_request_is_queued_with_retries_and_without_the_address_in_its_description(
    client, user, redis_client
):
    client.post(RESET_URL, {"email": user.email})

    (job,) = queued_jobs()
    assert job.retries_left == 3
    assert user.email not in job.description  # RQ logs the description of every job it runs


def test_the_reset_form_still_refuses_a_malformed_address_without_queueing(client, redis_client):
    response = client.post(RESET_URL, {"email": "not an address"}, **SPANISH)

    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert queued_jobs() == []
