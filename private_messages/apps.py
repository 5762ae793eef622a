from django.apps import AppConfig


class PrivateMessagesConfig(AppConfig):
    name = "private_messages"
    verbose_name = "Private messages"

    def ready(self):
        from exports import notifications
        from private_messages.events import UnreadMessages

        notifications.register(UnreadMessages())
