"""Many simultaneous export requests by one user: the database constraint lets exactly one in."""

import http.client
import re
import threading
from http.cookies import SimpleCookie

import pytest
from django.test import Client

from testkit import processes
from testkit.browser import log_in
from usertasks.models import Task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]

CSRF = "r" * 32  # any 32-character secret works as cookie and header
STARTED = "Your export has started"
REFUSED = "An export task is currently in progress"


def _session(user):
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def _post_export(port, session, barrier):
    barrier.wait()
    cookie = f"sessionid={session}; csrftoken={CSRF}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(
        "POST",
        "/exports/",
        body="next=/explore/",
        headers={
            "Cookie": cookie,
            "X-CSRFToken": CSRF,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    response = connection.getresponse()
    response.read()
    jar = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    connection.close()
    # The message travels in a cookie to the next page, as it would for a browser.
    messages = jar["messages"].value if "messages" in jar else ""
    page_connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    page_connection.request(
        "GET", "/explore/", headers={"Cookie": f"{cookie}; messages={messages}"}
    )
    page = page_connection.getresponse().read().decode()
    page_connection.close()
    return response.status, page


def test_thirty_simultaneous_export_posts_create_exactly_one_task(
    user, redis_client, media_root, tmp_path, settings
):
    settings.TASKS_PER_HOUR = 0
    # Two web processes, so requests really interleave in the database.
    servers = [
        processes.start_daphne(tmp_path / f"web{i}.log", MEDIA_ROOT=media_root, TASKS_PER_HOUR=0)
        for i in range(2)
    ]
    sessions = [_session(user) for _ in range(30)]
    barrier = threading.Barrier(30)
    results = [None] * 30

    def run(i):
        results[i] = _post_export(servers[i % 2].port, sessions[i], barrier)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(30)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    finally:
        for server in servers:
            server.stop()

    assert Task.objects.count() == 1
    assert [status for status, _ in results] == [302] * 30
    started = sum(STARTED in page for _, page in results)
    refused = sum(REFUSED in page for _, page in results)
    assert (started, refused) == (1, 29)
    for server in servers:
        assert "Traceback" not in server.output()


@pytest.mark.e2e
def test_a_double_click_on_export_starts_one_export(web, page, user, password, redis_client):
    log_in(page, web.url, user, password)
    page.goto(f"{web.url}/user/{user.username}/")

    page.dblclick("#export-button")
    page.wait_for_selector(f"text=/{STARTED}|{REFUSED}/")

    assert Task.objects.filter(user=user).count() == 1
    assert re.search(r"data-task-id=\"[0-9a-f]{32}\"", page.content())
