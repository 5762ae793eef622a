"""A message as the send view stores it, for tests that need one without the form."""

from private_messages.models import Message


def send(sender, recipient, body="Hello"):
    return Message.objects.create(sender=sender, recipient=recipient, body=body)
