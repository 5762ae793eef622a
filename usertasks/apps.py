import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


class UserTasksConfig(AppConfig):
    """The task system: the Task row, its kinds, their live progress and the worker."""

    name = "usertasks"
    verbose_name = "Tasks"

    def ready(self):
        from django.utils.module_loading import import_string

        from ops.metrics import register_source
        from usertasks import (
            notifications,
            results,  # noqa: F401 - connects its signal receiver
        )
        from usertasks.kinds import register
        from usertasks.metrics import task_families
        from usertasks.task_events import TaskEvents

        notifications.register(TaskEvents())
        register_source("database", task_families)
        for path in settings.TASK_KINDS:  # kinds outside the apps (settings.py)
            register(import_string(path))
        # Read by settings before logging was set up: said once per process, now that it is.
        for deprecation in settings.DEPRECATED_ENVIRONMENT:
            logger.warning(deprecation)
