"""The only places that write private messages and read marks."""

from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import ngettext

from private_messages import selectors
from private_messages.events import unread_event
from private_messages.models import Message, ReadMark
from usertasks.notifications import notify

WINDOW = timedelta(hours=1)


class MessageRateLimited(Exception):
    """The sender sent ``MESSAGES_PER_HOUR`` messages in the last hour; ``str()`` says when to
    try again, in the active language."""

    def __init__(self, *, limit: int, retry_at: datetime):
        super().__init__(limit, retry_at)
        self.limit = limit
        self.retry_at = retry_at

    def __str__(self):
        moment = timezone.localtime(self.retry_at)
        when = f"{formats.time_format(moment, 'TIME_FORMAT')} {moment.tzname()}"
        return ngettext(
            "You can send at most %(limit)d message per hour. You can try again at %(time)s.",
            "You can send at most %(limit)d messages per hour. You can try again at %(time)s.",
            self.limit,
        ) % {"limit": self.limit, "time": when}


def message_send(*, sender, recipient, body: str) -> Message:
    """Store the message (one INSERT) and, once committed, push the recipient's new unread
    count to their open pages (one publish)."""
    _check_rate_limit(sender=sender)
    message = Message(sender=sender, recipient=recipient, body=body)
    message.full_clean(exclude=["sender", "recipient"])  # both are rows the caller holds
    message.save()
    transaction.on_commit(partial(publish_unread, recipient.pk))
    return message


def messages_mark_read(*, user, up_to: datetime) -> bool:
    """Mark the user's messages up to ``up_to`` read; whether that changed anything. The other
    open pages of the user learn the new count once it is committed."""
    mark = selectors.read_mark(user.pk)
    if mark is not None and mark >= up_to:
        return False
    now = timezone.now()
    created = False
    if mark is None:
        _, created = ReadMark.objects.get_or_create(
            user=user, defaults={"read_at": up_to, "marked_at": now}
        )
    # Never backwards: another tab may have read further meanwhile.
    changed = created or bool(
        ReadMark.objects.filter(user=user, read_at__lt=up_to).update(read_at=up_to, marked_at=now)
    )
    if changed:
        transaction.on_commit(partial(publish_unread, user.pk))
    return changed


def publish_unread(user_id: int) -> None:
    """The count comes from the database, after the commit: never an increment."""
    notify(user_id, unread_event(selectors.unread_count(user_id)))


def _check_rate_limit(*, sender) -> None:
    limit = settings.MESSAGES_PER_HOUR
    if not limit:
        return
    recent = list(
        Message.objects.filter(sender=sender, timestamp__gte=timezone.now() - WINDOW)
        .order_by("-timestamp")
        .values_list("timestamp", flat=True)[:limit]
    )
    if len(recent) >= limit:
        # The oldest of them leaves the window then; rounded up, as the time shows no seconds.
        retry_at = recent[-1] + WINDOW
        retry_at = retry_at.replace(second=0, microsecond=0) + timedelta(minutes=1)
        raise MessageRateLimited(limit=limit, retry_at=retry_at)
