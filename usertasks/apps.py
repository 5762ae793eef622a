import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


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
        # Read by settings before logging was set up: said once per process, now that it is.
        for deprecation in settings.DEPRECATED_ENVIRONMENT:
            logger.warning(deprecation)
