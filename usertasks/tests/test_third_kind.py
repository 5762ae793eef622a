"""A third kind is its job body, its texts and a registration: a kind no app knows
(testkit/counting.py), run by a real worker, gets its card, its cancel and its failure from the
task system alone, with no template, JavaScript or consumer of its own."""

import os
import signal

import pytest
from asgiref.sync import sync_to_async
from rq.job import Job

from testkit import processes
from testkit.communicators import communicator, connected_past_snapshot, run
from testkit.counting import COUNTING, side_file
from testkit.waiting import wait_until
from usertasks import kinds
from usertasks.models import Task
from usertasks.services import launch_task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def counting(monkeypatch):
    """The kind, registered in this process for this test only."""
    monkeypatch.setattr(kinds, "_KINDS", {**kinds._KINDS})
    return kinds.register(COUNTING)


@pytest.fixture
def counting_worker(counting, transactional_db, redis_client, media_root, tmp_path):
    """A real worker that registers the kind as any site would: through TASK_KINDS."""
    process = processes.start_listening_worker(
        tmp_path / "worker.log", MEDIA_ROOT=media_root, TASK_KINDS="testkit.counting.COUNTING"
    )
    yield process
    process.stop()


def status(client, task_id):
    """The task object, as the card's websocket sends it (the same payload)."""
    return client.get(f"/exports/{task_id}/status").json()


def finished(client, task_id):
    return wait_until(
        lambda: (task := status(client, task_id))["status"] not in ("queued", "running") and task,
        60,
    )


def card_html(page, task_id):
    start = page.index(f'data-task-id="{task_id}" data-task-name="count_to"')
    return page[start : page.index('<div class="progress', start) + 400]


def test_its_card_shows_its_texts_and_live_progress_on_the_page_and_the_websocket(
    logged_in, user, counting, counting_worker, ws_headers, tmp_path
):
    gate = tmp_path / "gate"
    headers = ws_headers(user)

    async def body():
        ws = communicator(headers)
        assert await connected_past_snapshot(ws) == []
        task = await sync_to_async(launch_task)(
            user=user, kind=counting, args=(10, {"hold_at": 5, "gate": str(gate)})
        )
        states = []
        while not states or states[-1]["progress"] < 50:  # held at 5 of 10
            message = await ws.receive_json_from(timeout=60)
            if message["type"] == "task":
                states.append(message["task"])
        page = (await sync_to_async(logged_in.get)("/exports/")).content.decode()
        gate.touch()
        while states[-1]["status"] != "succeeded":
            message = await ws.receive_json_from(timeout=60)
            if message["type"] == "task":
                states.append(message["task"])
        final_page = (await sync_to_async(logged_in.get)("/exports/")).content.decode()
        await ws.disconnect()
        return task, states, page, final_page

    task, states, page, final_page = run(body)

    held = next(s for s in states if s["progress"] == 50)
    assert {s["id"] for s in states} == {task.pk}, counting_worker.output()
    assert [s["status"] for s in states][:2] == ["queued", "running"]
    assert (held["name"], held["status"], held["done"], held["total"]) == (
        "count_to",
        "running",
        5,
        10,
    )
    assert held["description"] == "Counting"
    assert held["title"] == "Counting — in progress"
    assert held["cancel_url"] == f"/exports/{task.pk}/cancel"
    card = card_html(page, task.pk)
    assert "Counting — in progress" in card
    assert 'aria-valuenow="50"' in card
    assert f'action="/exports/{task.pk}/cancel"' in card

    done = states[-1]
    assert (done["title"], done["notice"], done["progress"]) == (
        "Counting — done",
        "Counted to 10.",
        100,
    )
    card = card_html(final_page, task.pk)
    assert "Counting — done" in card and "Counted to 10." in card
    assert not side_file(task.pk).exists()


def test_its_cancel_stops_the_running_job_and_its_worker_cleans_up_after_it(
    logged_in, user, counting, counting_worker, redis_client
):
    task = launch_task(user=user, kind=counting, args=(10, {"hold_at": 3, "gate": "/nowhere"}))
    wait_until(lambda: status(logged_in, task.pk)["progress"] == 30, 60)
    assert side_file(task.pk).read_text() == "3"
    horse = processes.work_horse_pid(counting_worker)
    # Frozen, the job cannot notice the cancel itself nor remove its side file: the cancel
    # must stop it, and the kind's clean-up, registered in the worker, remove the file.
    os.kill(horse, signal.SIGSTOP)
    try:
        response = logged_in.post(f"/exports/{task.pk}/cancel", {"next": "/exports/"}, follow=True)
        wait_until(lambda: processes.work_horse_pid(counting_worker) != horse, 30)
    finally:
        if processes.work_horse_pid(counting_worker) == horse:
            os.kill(horse, signal.SIGCONT)  # never leave it frozen

    page = response.content.decode()
    assert "The count was cancelled." in page
    card = card_html(page, task.pk)
    assert "Counting — cancelled" in card and "Cancelled at your request." in card
    assert Job.fetch(task.pk, connection=redis_client).get_status() == "stopped"
    wait_until(lambda: not side_file(task.pk).exists(), 30)
    task.refresh_from_db()
    assert (task.status, task.done, task.notice_code) == (Task.Status.CANCELLED, 3, "cancelled")


def test_its_failures_end_failed_with_its_own_texts(logged_in, user, counting, counting_worker):
    broken = launch_task(user=user, kind=counting, args=(10, {"fail_at": 4}))
    state = finished(logged_in, broken.pk)
    assert state["status"] == "failed", counting_worker.output()
    assert (state["error_code"], state["error"]) == (
        "internal_error",
        "The count broke down — please count again.",
    )
    assert state["title"] == "Counting — failed"
    wait_until(lambda: f"count_to {broken.pk} failed" in counting_worker.output(), 30)

    refused = launch_task(user=user, kind=counting, args=(10, {"refuse": 7}))
    state = finished(logged_in, refused.pk)
    assert (state["status"], state["error_code"], state["error_params"]) == (
        "failed",
        "number_refused",
        {"number": 7},
    )
    assert state["error"] == "The count would not say 7."
    card = card_html(logged_in.get("/exports/").content.decode(), refused.pk)
    assert "Counting — failed" in card and "The count would not say 7." in card
    assert not side_file(broken.pk).exists() and not side_file(refused.pk).exists()
