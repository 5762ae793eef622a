from django.apps import AppConfig


class BlogConfig(AppConfig):
    """Posts, the follow graph and the pages that show them.

    The label is the one the blog had when it lived in the project package: its tables
    (``microblog_post``), migrations, content types and permissions keep their names.
    """

    name = "blog"
    label = "microblog"

    def ready(self):
        from blog import signals  # noqa: F401 - connects the receivers
