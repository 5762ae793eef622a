from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"

    def ready(self):
        from exports import (
            notifications,
            retention,  # noqa: F401 - connects its signal receiver
        )
        from exports.task_events import TaskEvents

        notifications.register(TaskEvents())
