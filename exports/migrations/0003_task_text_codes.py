"""Store a task's texts as codes (exports/reasons.py) instead of translated sentences.

Existing rows were written in English or in their owner's Spanish: each known sentence becomes
its code; anything else is kept word for word as a "legacy" text. The description is no longer
stored at all: it follows from the task's kind.
"""

from django.db import migrations, models

# Every sentence earlier versions stored, in both languages, and the code that replaces it.
KNOWN = {
    "the worker stopped unexpectedly — please try again": "worker_lost",
    "el proceso en segundo plano se detuvo inesperadamente; vuelve a intentarlo": "worker_lost",
    "The export failed because of an internal error — please try again.": "internal_error",
    "La exportación ha fallado por un error interno; vuelve a intentarlo.": "internal_error",
    "The export took too long and was stopped — please try again later.": "timeout",
    "La exportación tardaba demasiado y se ha detenido; vuelve a intentarlo más tarde.": "timeout",
    "The server has no room to store your export right now. Please try again in an hour.": (
        "disk_full"
    ),
    "The task could not be queued — please try again in a moment.": "queue_failed",
    "No se ha podido poner la tarea en cola; vuelve a intentarlo en un momento.": "queue_failed",
    "Cancelled.": "cancelled",
    "Cancelada.": "cancelled",
    "The export is ready, but the e-mail could not be sent.": "email_failed",
    "La exportación está lista, pero no se ha podido enviar el correo electrónico.": (
        "email_failed"
    ),
}
REVERSE = {
    "worker_lost": "the worker stopped unexpectedly — please try again",
    "internal_error": "The export failed because of an internal error — please try again.",
    "timeout": "The export took too long and was stopped — please try again later.",
    "disk_full": (
        "The server has no room to store your export right now. Please try again in an hour."
    ),
    "queue_failed": "The task could not be queued — please try again in a moment.",
    "cancelled": "Cancelled.",
    "cancelled_by_staff": "Cancelled.",
    "email_failed": "The export is ready, but the e-mail could not be sent.",
}


def _code(text):
    if not text:
        return "", {}
    if text in KNOWN:
        return KNOWN[text], {}
    return "legacy", {"text": text}


def texts_to_codes(apps, schema_editor):
    Task = apps.get_model("exports", "Task")
    rows = Task.objects.exclude(error="", notice="").only("pk", "error", "notice")
    for task in rows.iterator(chunk_size=1000):
        error_code, error_params = _code(task.error)
        notice_code, notice_params = _code(task.notice)
        Task.objects.filter(pk=task.pk).update(
            error_code=error_code,
            error_params=error_params,
            notice_code=notice_code,
            notice_params=notice_params,
        )


def codes_to_texts(apps, schema_editor):
    Task = apps.get_model("exports", "Task")
    Task.objects.update(description="Exporting posts…")
    for task in Task.objects.exclude(error_code="", notice_code="").iterator(chunk_size=1000):
        Task.objects.filter(pk=task.pk).update(
            error=_text(task.error_code, task.error_params),
            notice=_text(task.notice_code, task.notice_params),
        )


def _text(code, params):
    if code == "legacy":
        return params.get("text", "")
    return REVERSE.get(code, code)


class Migration(migrations.Migration):
    dependencies = [("exports", "0002_task_purged_at")]

    operations = [
        migrations.AddField(
            model_name="task",
            name="error_code",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name="task",
            name="error_params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="task",
            name="notice_code",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name="task",
            name="notice_params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="task",
            name="dismissed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(texts_to_codes, codes_to_texts, elidable=True),
        migrations.RemoveField(model_name="task", name="description"),
        migrations.RemoveField(model_name="task", name="error"),
        migrations.RemoveField(model_name="task", name="notice"),
    ]
