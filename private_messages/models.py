"""Private messages, and how far each user has read them."""

from datetime import UTC, datetime

from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

MESSAGE_MAX_LENGTH = 280
NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # the read mark of a user who never opened /messages/


class MessageQuerySet(models.QuerySet):
    def received_by(self, user_id):
        return self.filter(recipient_id=user_id)

    def unread_by(self, user_id):
        """Messages to the user newer than their read mark: one range of ``message_received``."""
        mark = ReadMark.objects.filter(user_id=user_id).values("read_at")
        return self.received_by(user_id).filter(
            timestamp__gt=Coalesce(models.Subquery(mark), models.Value(NEVER))
        )

    def newest_first(self):
        return self.order_by("-timestamp", "-id")


class Message(models.Model):
    # No index of their own: the composite indexes below start with them.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="messages_sent",
        db_index=False,
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="messages_received",
        db_index=False,
    )
    body = models.CharField(
        max_length=MESSAGE_MAX_LENGTH, validators=[ProhibitNullCharactersValidator()]
    )
    timestamp = models.DateTimeField(default=timezone.now)

    objects = MessageQuerySet.as_manager()

    class Meta:
        indexes = [
            # "This recipient's messages, newest first": /messages/ and the unread count.
            models.Index(fields=["recipient", "-timestamp", "-id"], name="message_received"),
            # The sender's last hour (rate limit).
            models.Index(fields=["sender", "timestamp"], name="message_sender_time"),
            # The messages of the last seconds, for the socket watch's catch-up.
            models.Index(fields=["timestamp"], name="message_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="message_body_not_empty"),
        ]

    def __str__(self):
        return f"{self.sender} → {self.recipient} ({self.timestamp:%Y-%m-%d %H:%M})"


class ReadMark(models.Model):
    """Messages up to ``read_at`` are read; ``marked_at`` says when that last changed."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="message_read_mark",
    )
    read_at = models.DateTimeField()
    marked_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return f"{self.user} read up to {self.read_at:%Y-%m-%d %H:%M}"
