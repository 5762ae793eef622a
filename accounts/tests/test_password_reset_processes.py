"""Password reset with real processes: daphne answers, a worker mails; a hanging SMTP relay or a
Redis outage never holds or breaks the request."""

import http.client
import re
import socket
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import django_rq
import pytest
import redis
from rq import Queue

from devtools.embedded_redis import EmbeddedRedis
from testkit import processes
from testkit.jobs import queued_jobs
from testkit.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

RESET_URL = "/accounts/password_reset/"
DONE_URL = "/accounts/password_reset/done/"
UNAVAILABLE = "We could not send the e-mail just now — please try again in a moment."
NEW_PASSWORD = "a brand new passphrase"


class PlainClient:
    """HTTP to a real server with a cookie jar; forms carry the CSRF cookie's secret."""

    def __init__(self, port, timeout=10):
        self.port = port
        self.timeout = timeout
        self.cookies = {"csrftoken": "r" * 32}  # any 32-character secret is a valid token

    def request(self, method, path, form=None):
        """Returns (status, Location, body); redirects are not followed."""
        headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode({**form, "csrfmiddlewaretoken": self.cookies["csrftoken"]})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read().decode()
        finally:
            connection.close()
        jar = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        self.cookies.update({name: morsel.value for name, morsel in jar.items()})
        return response.status, response.headers.get("Location"), content


@pytest.fixture
def hanging_relay():
    """An SMTP relay that accepts connections and never answers: the kernel completes them
    from the listen backlog and nobody ever reads or writes."""
    with socket.create_server(("127.0.0.1", 0)) as relay:
        relay.setblocking(False)
        yield relay


def was_connected_to(relay):
    try:
        relay.accept()[0].close()
    except BlockingIOError:
        return False
    return True


@pytest.mark.slow
def test_a_reset_through_daphne_and_a_worker_mails_one_working_link_and_nothing_for_others(
    web, worker, smtp_server, user
):
    browser = PlainClient(web.port)
    for address in ("nobody@example.com", user.email):
        status, location, _ = browser.request("POST", RESET_URL, {"email": address})
        assert (status, location) == (302, DONE_URL)

    # The web process has no SMTP relay: only the worker can have sent this. It runs jobs in
    # order, so the unknown address's job is finished once the known one's mail is in.
    (mail,) = wait_until(lambda: list(smtp_server.messages), 60)
    assert queued_jobs() == []
    assert django_rq.get_queue("default").failed_job_registry.count == 0
    assert mail["To"] == user.email
    link = re.search(rf"{re.escape(web.url)}(/accounts/reset/\S+/)", mail.get_content())
    assert link, mail.get_content()

    status, set_password_url, _ = browser.request("GET", link.group(1))
    assert status == 302 and set_password_url.endswith("/set-password/")
    status, _, page = browser.request("GET", set_password_url)
    assert status == 200 and 'name="new_password1"' in page
    status, location, _ = browser.request(
        "POST", set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert (status, location) == (302, "/accounts/reset/done/")
    status, location, _ = browser.request(
        "POST", "/accounts/login/", {"username": user.username, "password": NEW_PASSWORD}
    )
    assert (status, location) == (302, "/")


@pytest.mark.fault
def test_a_reset_answers_at_once_while_the_smtp_relay_hangs_and_leaves_the_mail_to_a_worker(
    redis_client, user, media_root, hanging_relay, tmp_path
):
    relay_port = hanging_relay.getsockname()[1]
    env = {"MEDIA_ROOT": media_root, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": relay_port}
    web = processes.start_daphne(tmp_path / "web.log", **env)
    try:
        # The answer comes within the client's wait (10 s): a request that talked to the relay
        # would be held for the SMTP timeout (30 s), and would have connected to it.
        status, location, _ = PlainClient(web.port).request(
            "POST", RESET_URL, {"email": user.email}
        )
    finally:
        web.stop()

    assert (status, location) == (302, DONE_URL)
    assert not was_connected_to(hanging_relay)
    (job,) = queued_jobs()
    assert job.func_name == "accounts.jobs.send_password_reset"
    assert job.kwargs["email"] == user.email
    assert job.kwargs["domain"] == f"127.0.0.1:{web.port}"


@pytest.mark.fault
def test_a_reset_while_redis_is_down_says_to_try_again_and_works_once_redis_is_back(
    private_redis, user, media_root, tmp_path
):
    server = private_redis[0]
    web = processes.start_daphne(tmp_path / "web.log", REDIS_URL=server.url, MEDIA_ROOT=media_root)
    browser = PlainClient(web.port)
    try:
        server.stop()

        status, _, page = browser.request("POST", RESET_URL, {"email": user.email})
        assert status == 200, web.output()
        assert f'<div class="alert alert-danger" role="alert">{UNAVAILABLE}</div>' in page
        assert browser.request("GET", "/accounts/login/")[0] == 200

        private_redis.append(EmbeddedRedis(port=server.port).start())

        status, location, _ = browser.request("POST", RESET_URL, {"email": user.email})
        assert (status, location) == (302, DONE_URL), web.output()
    finally:
        web.stop()
    with redis.Redis.from_url(server.url) as connection:
        (job,) = Queue("default", connection=connection).get_jobs()
    assert job.kwargs["email"] == user.email
