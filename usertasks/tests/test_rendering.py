"""Task texts are stored as codes and rendered in the reader's language: on the page, in the
websocket message, in /status (the admin: test_admin.py), and for rows from before codes."""

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from testkit.communicators import communicator, connected_past_snapshot, run
from testkit.factories import TaskFactory
from usertasks import reasons
from usertasks.models import Task
from usertasks.reconciliation import reconcile_active_tasks
from usertasks.transitions import move

pytestmark = pytest.mark.django_db(transaction=True)
SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es-ES,es;q=0.9"}


def test_a_task_created_in_english_reads_in_spanish_on_a_spanish_page_websocket_and_status(
    logged_in, user, redis_client, ws_headers
):
    logged_in.post("/exports/", HTTP_ACCEPT_LANGUAGE="en")  # started from an English page
    task = Task.objects.get()
    Task.objects.filter(pk=task.pk).update(created_at=task.created_at.replace(year=2000))
    redis_client.flushall()  # Redis lost the job: the task is lost
    reconcile_active_tasks(connection=redis_client)
    task.refresh_from_db()
    assert (task.status, task.error_code) == ("failed", reasons.WORKER_LOST)

    page = logged_in.get("/exports/", **SPANISH).content.decode()
    assert "El proceso en segundo plano se detuvo inesperadamente" in page
    assert "stopped unexpectedly" not in page

    status = logged_in.get(f"/exports/{task.pk}/status", **SPANISH).json()
    assert status["title"] == "Exportación de tus publicaciones — fallida"
    assert status["status_label"] == "Fallida"
    assert status["error"].startswith("El proceso en segundo plano se detuvo")
    assert status["error_code"] == "worker_lost"

    Task.objects.filter(pk=task.pk).update(finished_at=task.finished_at.replace(year=2100))
    headers = [*ws_headers(user), (b"accept-language", b"es-ES,es;q=0.9")]

    async def body():
        ws = communicator(headers)
        (snapshot,) = await connected_past_snapshot(ws)
        await ws.disconnect()
        return snapshot

    snapshot = run(body)
    assert snapshot["title"] == "Exportación de tus publicaciones — fallida"
    assert snapshot["error"] == status["error"]
    english = logged_in.get(f"/exports/{task.pk}/status", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["error"] == "The worker stopped unexpectedly — please try again."


def test_one_websocket_message_is_rendered_for_each_readers_language(
    client, user, redis_client, ws_headers
):
    """Two tabs of one user, one per language, get the same broadcast in their own words."""
    task = TaskFactory(user=user, status=Task.Status.RUNNING)
    english = ws_headers(user)
    chose_spanish = dict(english)[b"cookie"] + b"; django_language=es"  # the footer's switch
    spanish = [header for header in english if header[0] != b"cookie"]
    spanish.append((b"cookie", chose_spanish))

    async def body():
        tabs = [communicator(english), communicator(spanish)]
        for tab in tabs:
            await connected_past_snapshot(tab)
        await database_sync_to_async(move)(task, to=Task.Status.CANCELLED, notice_code="cancelled")
        seen = [(await tab.receive_json_from(timeout=2))["task"] for tab in tabs]
        for tab in tabs:
            await tab.disconnect()
        return seen

    in_english, in_spanish = run(body)

    assert (in_english["title"], in_english["notice"]) == (
        "Export of your posts — cancelled",
        "Cancelled at your request.",
    )
    assert (in_spanish["title"], in_spanish["notice"]) == (
        "Exportación de tus publicaciones — cancelada",
        "Cancelada a petición tuya.",
    )


def test_the_migration_turns_stored_sentences_into_codes(user):
    executor = MigrationExecutor(connection)
    executor.migrate([("exports", "0002_task_purged_at")])
    old = executor.loader.project_state([("exports", "0002_task_purged_at")]).apps
    OldTask = old.get_model("exports", "Task")
    rows = {
        "a" * 32: (
            "el proceso en segundo plano se detuvo inesperadamente; vuelve a intentarlo",
            "",
        ),
        "b" * 32: ("", "The export is ready, but the e-mail could not be sent."),
        "c" * 32: ("", "Cancelada."),
        "d" * 32: ("Something an operator once typed.", ""),
    }
    for pk, (error, notice) in rows.items():
        OldTask.objects.create(
            id=pk,
            user_id=user.pk,
            name="export_posts",
            description="Exportando publicaciones…",
            status="failed" if error else "succeeded",
            error=error,
            notice=notice,
        )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    # Every app to its latest migration: Task has moved on since (usertasks 0002 renames a column).
    executor.migrate(executor.loader.graph.leaf_nodes())

    codes = {
        task.pk: (task.error_code, task.notice_code, task.error) for task in Task.objects.all()
    }
    assert codes == {
        "a" * 32: ("worker_lost", "", "The worker stopped unexpectedly — please try again."),
        "b" * 32: ("", "email_failed", ""),
        "c" * 32: ("", "cancelled", ""),
        "d" * 32: ("legacy", "", "Something an operator once typed."),
    }
