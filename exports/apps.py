from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"

    def ready(self):
        from exports import (
            kinds,  # noqa: F401 - registers the export_posts task kind
            retention,  # noqa: F401 - connects its signal receiver
        )
        from exports.metrics import export_histograms
        from ops.metrics import register_source

        register_source("database", export_histograms)
