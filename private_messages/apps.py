from django.apps import AppConfig


class PrivateMessagesConfig(AppConfig):
    name = "private_messages"
    verbose_name = "Private messages"

    def ready(self):
        from private_messages.events import UnreadMessages
        from usertasks import notifications

        notifications.register(UnreadMessages())
