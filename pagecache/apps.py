from django.apps import AppConfig


class PageCacheConfig(AppConfig):
    """Rendered pages in Redis (pagecache/__init__.py); an app for its ``{% live %}`` tag."""

    name = "pagecache"
