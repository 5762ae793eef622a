from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"

    def ready(self):
        from exports import notifications
        from exports.task_events import TaskEvents

        notifications.register(TaskEvents())
