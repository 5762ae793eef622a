"""The unread count as an event source of the notification stream (usertasks/notifications.py):
``{"type": "messages", "unread": N}``."""

from private_messages import selectors
from private_messages.models import Message, ReadMark
from usertasks.notifications import EventSource


def unread_event(count: int) -> dict:
    return {"type": "messages", "unread": count}


class UnreadMessages(EventSource):
    type = "messages"

    def snapshot(self, user):
        return [unread_event(selectors.unread_count(user.pk))]

    def changed(self, user_ids, since):
        """Users who received a message or read theirs since ``since``: two reads of the
        last seconds' rows, then the count of those of ``user_ids`` among them."""
        recent = set(
            Message.objects.filter(timestamp__gte=since).values_list("recipient_id", flat=True)
        )
        recent |= set(
            ReadMark.objects.filter(marked_at__gte=since).values_list("user_id", flat=True)
        )
        affected = recent & user_ids
        if not affected:
            return {}
        return {user_id: unread_event(selectors.unread_count(user_id)) for user_id in affected}

    def notifications(self, user, since):
        """The Flask microblog's ``unread_message_count``, stamped with its last change."""
        count = selectors.unread_count(user.pk)
        newest = Message.objects.received_by(user.pk).newest_first().values("timestamp")[:1]
        moments = [row["timestamp"] for row in newest]
        mark = ReadMark.objects.filter(user=user).values_list("marked_at", flat=True).first()
        if mark:
            moments.append(mark)
        changed = max(moments).timestamp() if moments else 0.0
        return [{"name": "unread_message_count", "data": count, "timestamp": changed}]
