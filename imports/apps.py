from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"

    def ready(self):
        from imports import kinds  # noqa: F401 - registers the import_posts task kind
