"""The whole export path with real processes: view → Redis → rqworker → websocket → download."""

import json

import pytest
from asgiref.sync import sync_to_async

from blog.seeding import seed_posts
from testkit.communicators import communicator, run
from usertasks.models import Task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_export_runs_in_a_real_worker_with_live_progress_mail_and_download(
    client, user, worker, smtp_server, ws_headers
):
    seed_posts(author=user, count=20_000, seed=3)
    headers = ws_headers(user)

    async def body():
        ws = communicator(headers)
        assert (await ws.connect())[0]
        assert await ws.receive_json_from() == {"type": "messages", "unread": 0}
        assert await ws.receive_json_from() == {"type": "snapshot", "task_ids": []}
        response = await sync_to_async(client.post)("/exports/", {"next": "/user/x/"})
        assert response.status_code == 302
        states = []
        while not states or states[-1]["status"] in ("queued", "running"):
            message = await ws.receive_json_from(timeout=60)
            assert message["type"] == "task"
            states.append(message["task"])
        await ws.disconnect()
        return states

    states = run(body)

    task = Task.objects.get()
    assert states[-1]["status"] == "succeeded", worker.output()
    assert states[-1]["progress"] == 100
    assert states[-1]["download_url"] == f"/exports/{task.pk}/download"
    assert [s["id"] for s in states] == [task.pk] * len(states)
    assert "running" in [s["status"] for s in states]
    progress = [s["progress"] for s in states]
    assert progress == sorted(progress)
    stamps = [s["updated_at"] for s in states]
    assert stamps == sorted(stamps)

    response = client.get(f"/exports/{task.pk}/download")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    exported = json.loads(b"".join(response.streaming_content))
    assert len(exported["posts"]) == 20_000

    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["Subject"] == "[Microblog] Your blog posts"
    assert message["To"] == user.email
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "posts.json"
    assert attachment.get_content_type() == "application/json"
    assert len(json.loads(attachment.get_content())["posts"]) == 20_000
