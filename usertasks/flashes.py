"""The flash that says a task started: it names its task (in ``extra_tags``), so that it gives
way to the task's card once the card says how the task ended. base.html leaves it out when the
card is already final; static/js/tasks.js removes it when the card becomes final."""

from django.contrib import messages

from usertasks.models import Task


def task_started(request, task: Task) -> None:
    messages.info(request, str(task.kind_spec.started), extra_tags=task.pk)
