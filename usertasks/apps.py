from django.apps import AppConfig


class UserTasksConfig(AppConfig):
    """The task system: the Task row, its kinds, their live progress and the worker."""

    name = "usertasks"
    verbose_name = "Tasks"

    def ready(self):
        from ops.metrics import register_source
        from usertasks import (
            notifications,
            results,  # noqa: F401 - connects its signal receiver
        )
        from usertasks.metrics import task_families
        from usertasks.task_events import TaskEvents

        notifications.register(TaskEvents())
        register_source("database", task_families)
