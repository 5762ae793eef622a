"""One user holds at most WEBSOCKETS_PER_USER task sockets in a daphne; one more is closed with a
code the page does not retry at once (usertasks/consumers.py, static/js/tasks.js)."""

import pytest
from websockets.exceptions import ConnectionClosed

from testkit import processes
from testkit.browser import log_in
from testkit.raw_http import session_id
from testkit.visitor import open_websocket, read_past_snapshot
from usertasks.consumers import TOO_MANY_SOCKETS

pytestmark = pytest.mark.django_db(transaction=True)

PER_USER = 3


@pytest.fixture
def web(redis_client, media_root, tmp_path):
    process = processes.start_daphne(
        tmp_path / "daphne.log", MEDIA_ROOT=media_root, WEBSOCKETS_PER_USER=PER_USER
    )
    yield process
    process.stop()


def task_socket(web, user):
    return open_websocket(web.url, session_id(user))


def snapshot(ws):
    read_past_snapshot(ws)
    return True


@pytest.mark.fault
def test_a_socket_past_the_users_limit_is_closed_with_the_too_many_sockets_code(
    web, user, other_user
):
    with (
        task_socket(web, user) as first,
        task_socket(web, user) as second,
        task_socket(web, user) as third,
    ):
        assert snapshot(first) and snapshot(second) and snapshot(third)
        with task_socket(web, user) as one_too_many, pytest.raises(ConnectionClosed):
            one_too_many.recv(timeout=10)  # a TimeoutError: it was served
        assert one_too_many.close_code == TOO_MANY_SOCKETS
        with task_socket(web, other_user) as theirs:  # the limit is per user
            assert snapshot(theirs)
        third.close()
        with task_socket(web, user) as again:  # a closed tab frees its place
            assert snapshot(again)
    assert "Traceback" not in web.output()


@pytest.mark.e2e
@pytest.mark.slow
def test_a_tab_past_the_limit_says_why_it_stopped_updating_instead_of_reconnecting(
    web, page, user, password
):
    connected = "document.getElementById('tasks').dataset.connection === ''"
    log_in(page, web.url, user, password)
    page.wait_for_function(connected)
    for _ in range(PER_USER - 1):
        tab = page.context.new_page()
        tab.goto(f"{web.url}/explore/")
        tab.wait_for_function(connected)

    one_too_many = page.context.new_page()
    one_too_many.goto(f"{web.url}/explore/")

    one_too_many.wait_for_selector("#tasks-connection:has-text('Too many tabs')")
    assert "Reconnecting" not in one_too_many.inner_text("#tasks-connection")
