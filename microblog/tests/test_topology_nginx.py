"""The production topology on loopback: real nginx in front of two daphne and two workers.

nginx is configured from deploy/nginx/templates/ (docs/operations.md "Deploy"). It balances
pages and websockets over both daphne processes, serves static files itself, and sends export
files that Django allowed with X-Accel-Redirect, so no daphne ever holds a download.
"""

import json
import subprocess
from pathlib import Path

import psutil
import pytest

from blog.seeding import seed_posts
from testkit import processes
from testkit.nginx import (
    ACCEL_PREFIX,
    TLS_EXAMPLE,
    command,
    configure,
    nginx_binary,
    start_nginx,
)
from testkit.raw_http import session_cookie
from testkit.visitor import Visitor
from testkit.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

POSTS = 20_000  # ten chunks of the stream: progress between 0 and 100 whatever the speed


def visitor(base_url, user):
    """A browser on ``base_url`` already logged in as ``user``."""
    name, value = session_cookie(user).split("=", 1)
    browser = Visitor(base_url)
    browser.session.cookies.set(name, value)
    return browser


def connections_to(web):
    """Established TCP connections to a daphne's port (nginx's, in this topology)."""
    return sum(
        1
        for c in psutil.Process(web.pid).net_connections(kind="tcp")
        if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == web.port
    )


def follow(ws):
    """The task states a websocket receives until the task ends."""
    states = []
    while not states or states[-1]["status"] in ("queued", "running"):
        message = json.loads(ws.recv(timeout=60))
        if message["type"] == "task":
            states.append(message["task"])
    return states


def test_nginx_balances_two_daphnes_sends_exports_itself_and_serves_static_files(
    user, other_user, redis_client, media_root, smtp_server, tmp_path
):
    nginx_binary()  # skipped (or failed under CI) before anything starts
    seed_posts(author=user, count=POSTS, seed=12)
    static_root = tmp_path / "static"
    processes.manage("collectstatic", "--noinput", STATIC_ROOT=static_root, STATIC_MANIFEST=True)
    web_env = {
        "MEDIA_ROOT": media_root,
        "STATIC_ROOT": static_root,
        "STATIC_MANIFEST": True,
        "EXPORT_DOWNLOAD_ACCEL_PREFIX": ACCEL_PREFIX,
    }
    started = []
    try:
        webs = []
        for name in ("a", "b"):
            webs.append(processes.start_daphne(tmp_path / f"web-{name}.log", **web_env))
            started.append(webs[-1])
        for name in ("a", "b"):
            started.append(
                processes.start_worker(
                    tmp_path / f"worker-{name}.log",
                    MEDIA_ROOT=media_root,
                    EXPORT_PROGRESS_INTERVAL=0,  # a report per chunk: counted, not timed
                    **smtp_server.env(),
                )
            )
        proxy = start_nginx(
            tmp_path / "nginx",
            upstream_ports=[web.port for web in webs],
            static_root=static_root,
            media_root=media_root,
        )
        started.append(proxy)
        owner = visitor(proxy.url, user)

        # Two websockets opened one after the other land on different daphne processes.
        before = [connections_to(web) for web in webs]
        with owner.websocket() as first, owner.websocket() as second:
            for ws in (first, second):
                assert json.loads(ws.recv(timeout=10)) == {"type": "messages", "unread": 0}
                assert json.loads(ws.recv(timeout=10)) == {"type": "snapshot", "task_ids": []}
            after = [connections_to(web) for web in webs]
            assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1], (before, after)

            task_id = owner.start_export()  # a POST through nginx, CSRF origin check and all
            followed = [follow(first), follow(second)]
        for states in followed:
            assert states[-1]["status"] == "succeeded", states[-1]
            assert {state["id"] for state in states} == {task_id}
            progress = [s["progress"] for s in states if s["status"] == "running"]
            assert [p for p in progress if 0 < p < 100], states
        download_url = followed[0][-1]["download_url"]
        stored = next(Path(media_root, "exports").glob(f"*/{task_id}.json"))

        # Through nginx: the whole file, named posts.json, with no trace of the redirect.
        response = owner.get(download_url)
        assert response.status_code == 200
        assert response.content == stored.read_bytes()
        assert len(response.json()["posts"]) == POSTS
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Content-Disposition"] == 'attachment; filename="posts.json"'
        assert "X-Accel-Redirect" not in response.headers
        # daphne sent headers only; nginx sent the bytes.
        line = wait_until(
            lambda: next((x for x in proxy.access_log().splitlines() if download_url in x), None),
            10,
        )
        assert f" 200 {stored.stat().st_size} upstream=127.0.0.1:" in line, line
        assert line.endswith(" upstream_bytes=0"), line
        # Asked directly, daphne answers the same request with the redirect and no body.
        direct = visitor(webs[0].url, user).get(download_url)
        assert direct.status_code == 200
        relative = stored.relative_to(media_root).as_posix()
        assert direct.headers["X-Accel-Redirect"] == ACCEL_PREFIX + relative
        assert direct.content == b""

        # Another user gets 404, and nobody reaches the internal location from outside.
        assert visitor(proxy.url, other_user).get(download_url).status_code == 404
        assert owner.get(ACCEL_PREFIX + relative).status_code == 404
        assert owner.get(ACCEL_PREFIX + "exports/tmp/").status_code == 404

        # Static files come from nginx: they still do with every daphne stopped.
        manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
        css = next(hashed for name, hashed in manifest.items() if name.endswith(".css"))
        for web in webs:
            web.stop()
        assert owner.get("/").status_code == 502
        static = owner.get(f"/static/{css}")
        assert static.status_code == 200
        assert static.content == (static_root / css).read_bytes()
        assert "immutable" in static.headers["Cache-Control"]
    finally:
        for process in reversed(started):
            process.stop()


def test_the_https_example_is_a_configuration_nginx_accepts(tmp_path):
    """deploy/nginx/microblog-tls.conf.example in place of the template's plain server block."""
    binary = nginx_binary()
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run(
        [*openssl, "-subj", "/CN=blog.example.com", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    live = "/etc/letsencrypt/live/blog.example.com"
    tls = TLS_EXAMPLE.read_text()
    tls = tls.replace(f"{live}/fullchain.pem", str(cert)).replace(f"{live}/privkey.pem", str(key))
    conf = configure(
        tmp_path / "nginx",
        port=processes.free_port(),
        upstream_ports=[8000, 8001],
        static_root=tmp_path,
        media_root=tmp_path,
    )
    site = conf.parent / "conf.d" / "microblog.conf"
    plain = site.read_text()
    site.write_text(plain[: plain.index("\nserver {")] + "\n" + tls)

    result = subprocess.run(command(binary, conf, "-t"), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "listen 443 ssl" in site.read_text()
