"""A burst of websocket handshakes from one client, through the real nginx in front of two
daphne processes, leaves the site to everyone else (deploy/nginx/templates/).

1,000 handshakes at once (2,000 in production, 100 at a time) kept daphne busier than its
handshake timeout (5 s): it reset the connections it had not answered. With nginx's default
``max_fails=1`` each reset took its daphne out for 10 s, and with both out every request got 502.
"""

import asyncio
import http.client

import pytest
from websockets.asyncio.client import connect as connect_async
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

from testkit import processes
from testkit.nginx import start_nginx
from testkit.raw_http import session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.fault]

BURST = 1_000
BYSTANDER = "127.0.0.2"  # another client address: loopback is all of 127.0.0.0/8


async def handshake_burst(ws_url, origin, cookie):
    """``BURST`` handshakes at once, each socket held until all have an answer; the answers."""
    answers = []
    all_answered = asyncio.Event()

    def answered(outcome):
        answers.append(outcome)
        if len(answers) == BURST:
            all_answered.set()

    async def one():
        try:
            async with connect_async(
                ws_url, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=60
            ):
                answered(101)
                await all_answered.wait()
        except InvalidStatus as refused:
            answered(refused.response.status_code)
        except (OSError, InvalidHandshake) as error:  # a reset, a timeout
            answered(type(error).__name__)

    await asyncio.gather(*(one() for _ in range(BURST)))
    return answers


def bystander_visit(proxy, cookie):
    """Another user, from another address: a page, then its websocket; the two statuses."""
    page = http.client.HTTPConnection(
        "127.0.0.1", proxy.port, timeout=60, source_address=(BYSTANDER, 0)
    )
    page.request("GET", "/", headers={"Cookie": cookie})
    statuses = [page.getresponse().status]
    page.close()
    try:
        with connect(
            proxy.url.replace("http://", "ws://") + "/ws/tasks/",
            origin=proxy.url,
            additional_headers={"Cookie": cookie},
            source_address=(BYSTANDER, 0),
            open_timeout=60,
        ) as ws:
            ws.recv(timeout=60)  # the snapshot
            statuses.append(101)
    except InvalidStatus as refused:
        statuses.append(refused.response.status_code)
    return statuses


def test_a_burst_of_handshakes_through_nginx_leaves_no_502_for_a_bystander(
    user, other_user, redis_client, media_root, tmp_path
):
    started = []
    try:
        for name in ("a", "b"):
            started.append(
                processes.start_daphne(tmp_path / f"web-{name}.log", MEDIA_ROOT=media_root)
            )
        proxy = start_nginx(
            tmp_path / "nginx",
            upstream_ports=[web.port for web in started],
            static_root=tmp_path / "static",
            media_root=media_root,
        )
        started.append(proxy)
        ws_url = proxy.url.replace("http://", "ws://") + "/ws/tasks/"

        answers = asyncio.run(handshake_burst(ws_url, proxy.url, session_cookie(user)))
        # Within nginx's fail_timeout (10 s) of the burst's resets:
        seen_by_bystander = bystander_visit(proxy, session_cookie(other_user))
    finally:
        for process in reversed(started):
            process.stop()

    assert seen_by_bystander == [200, 101], (
        seen_by_bystander,
        [line for line in proxy.error_log().splitlines() if "127.0.0.2" in line],
    )
    assert 429 in answers  # past the burst nginx refused this client's handshakes itself
