"""Scale-out on loopback: two web processes and two workers sharing one Redis and one database.

An export started through web A is run by whichever worker pops it, and its live progress
reaches a browser connected to web B; when B dies, the browser reconnects to A and is told the
task's current state first. This is the topology of docs/operations.md "Deploy" (N daphne,
M rqworker).
"""

import http.client
import json
import secrets
import string
import time
from datetime import datetime

import pytest
from websockets.exceptions import ConnectionClosed

from blog.seeding import seed_posts
from testkit import processes
from testkit.visitor import open_websocket
from testkit.waiting import wait_until
from usertasks.models import Task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.fault]

# Ten chunks of the stream; the workers report after each one (EXPORT_PROGRESS_INTERVAL=0), so
# progress between 0 and 100 is reached by count whatever the machine's speed.
POSTS = 20_000


def post_export(web, session_id):
    """POST /exports/ as a logged-in browser would, CSRF token and all."""
    csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/exports/",
            body="next=/",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"sessionid={session_id}; csrftoken={csrf}",
                "X-CSRFToken": csrf,
                "Origin": web.url,
            },
        )
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


def receive(ws, timeout):
    return json.loads(ws.recv(timeout=timeout))


def wait_until_listening(workers, timeout=30):
    deadline = time.monotonic() + timeout
    while not all("Listening on" in worker.output() for worker in workers):
        assert time.monotonic() < deadline, [worker.output()[-2000:] for worker in workers]
        time.sleep(0.05)


def json_lines(process):
    """Every line the process logged, parsed: each must be one JSON object."""
    return [json.loads(line) for line in process.output().splitlines() if line.strip()]


def test_progress_crosses_web_processes_and_a_reconnect_gets_the_current_state(
    client, user, redis_client, media_root, smtp_server, tmp_path
):
    seed_posts(author=user, count=POSTS, seed=11)
    client.force_login(user)
    session_id = client.cookies["sessionid"].value
    web_env = {"MEDIA_ROOT": media_root}
    worker_env = {"MEDIA_ROOT": media_root, "EXPORT_PROGRESS_INTERVAL": 0, **smtp_server.env()}
    started = []
    try:
        web_a = processes.start_daphne(tmp_path / "web-a.log", **web_env)
        started.append(web_a)
        web_b = processes.start_daphne(tmp_path / "web-b.log", **web_env)
        started.append(web_b)
        workers = [
            processes.start_worker(
                tmp_path / f"worker-{name}.log", "--with-scheduler", **worker_env
            )
            for name in ("a", "b")
        ]
        started.extend(workers)
        wait_until_listening(workers)

        with open_websocket(web_b.url, session_id) as ws:
            assert receive(ws, 10) == {"type": "messages", "unread": 0}
            assert receive(ws, 10) == {"type": "snapshot", "task_ids": []}
            posted = time.monotonic()
            response = post_export(web_a, session_id)
            assert response.status == 302, response.status
            states, latencies, first_running = [], [], None
            while not states or states[-1]["status"] in ("queued", "running"):
                message = receive(ws, 60)
                received = datetime.now().astimezone()
                assert message["type"] == "task"
                states.append(message["task"])
                produced = datetime.fromisoformat(message["task"]["updated_at"])
                latencies.append((received - produced).total_seconds())
                if first_running is None and states[-1]["status"] == "running":
                    first_running = time.monotonic()
            finished = time.monotonic()

            web_b.kill()  # SIGKILL: the browser's connection drops without a goodbye
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=10)

        task = Task.objects.get()
        assert states[-1]["status"] == "succeeded", [w.output()[-3000:] for w in workers]
        assert {state["id"] for state in states} == {task.pk}
        progress = [state["progress"] for state in states if state["status"] == "running"]
        assert [p for p in progress if 0 < p < 100], f"no progress between 0 and 100: {states}"
        assert progress == sorted(progress)

        # The job logs its success just after publishing it: wait for the line, not the race.
        def runners():
            return [w for w in workers if f'"task_id": "{task.pk}"' in w.output()]

        ran_it = wait_until(runners, 30)
        assert len(ran_it) == 1, "exactly one worker ran the export"

        reconnected = time.monotonic()
        with open_websocket(web_a.url, session_id) as ws:
            first = receive(ws, 10)
            snapshot_after = time.monotonic() - reconnected
            assert first["type"] == "task"
            assert first["task"]["id"] == task.pk
            assert first["task"]["status"] == "succeeded"
            assert first["task"]["progress"] == 100
            assert first["task"]["download_url"] == f"/exports/{task.pk}/download"
            assert receive(ws, 10) == {"type": "messages", "unread": 0}
            assert receive(ws, 10) == {"type": "snapshot", "task_ids": [task.pk]}

        for process in (web_a, *workers):
            for entry in json_lines(process):
                assert {"time", "level", "logger", "message"} <= entry.keys(), entry
        assert len(smtp_server.messages) == 1

        latencies.sort()
        print(
            f"\n[topology] {POSTS} posts, 2 web + 2 workers, export run by "
            f"worker-{'ab'[workers.index(ran_it[0])]}: POST→running "
            f"{first_running - posted:.2f} s, POST→succeeded {finished - posted:.2f} s, "
            f"{len(states)} messages on web B ({len(progress)} running), "
            f"worker→browser latency median {latencies[len(latencies) // 2] * 1000:.1f} ms, "
            f"max {latencies[-1] * 1000:.1f} ms; reconnect to web A→snapshot "
            f"{snapshot_after * 1000:.0f} ms"
        )
    finally:
        for process in started:
            process.stop()
