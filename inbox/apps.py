from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "inbox"
    verbose_name = "Private messages"

    def ready(self):
        from exports import notifications
        from inbox.events import UnreadMessages

        notifications.register(UnreadMessages())
