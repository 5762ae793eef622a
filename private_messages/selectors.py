"""Reads of private messages: the unread count and the keyset pages of /messages/."""

from dataclasses import dataclass

from django.db import connection
from django.db.models import Q

from private_messages import cursors
from private_messages.models import NEVER, Message, ReadMark

MESSAGES_PER_PAGE = 20


# Message.objects.unread_by(user_id).count(), written out: every page's navigation shows it,
# and compiling the ORM's Coalesce(Subquery) cost more than running it (a test holds the two
# equal).
_UNREAD_COUNT = (
    f"SELECT COUNT(*) FROM {Message._meta.db_table}"  # noqa: S608 (model tables)
    " WHERE recipient_id = %s AND timestamp >"
    f" COALESCE((SELECT read_at FROM {ReadMark._meta.db_table} WHERE user_id = %s), %s)"
)


def unread_count(user_id: int) -> int:
    never = connection.ops.adapt_datetimefield_value(NEVER)
    with connection.cursor() as cursor:
        cursor.execute(_UNREAD_COUNT, [user_id, user_id, never])
        return cursor.fetchone()[0]


def read_mark(user_id: int):
    """Up to when the user has read their messages (None: never)."""
    return ReadMark.objects.filter(user_id=user_id).values_list("read_at", flat=True).first()


@dataclass
class Page:
    messages: list[Message]
    older: str | None  # the cursor of the next page back in time, if there is one
    newer: str | None  # the cursor of the page before, if this is not the first
    first: bool  # no cursor: the newest messages


def received_page(user, *, older: str = "", newer: str = "") -> Page:
    """One page of the messages ``user`` received, newest first, in one query: the rows after
    a validated ``(timestamp, id)`` cursor, never an OFFSET nor a COUNT. A bad cursor gives
    the first page, and so does a ``newer`` one with nothing newer."""
    messages = Message.objects.received_by(user.pk).select_related("sender")
    before, after = cursors.parse(older), cursors.parse(newer)
    if after is not None:
        moment, pk = after
        rows = list(
            messages.filter(Q(timestamp__gt=moment) | Q(timestamp=moment, id__gt=pk))
            .filter(timestamp__gte=moment)  # the bound an index range needs
            .order_by("timestamp", "id")[: MESSAGES_PER_PAGE + 1]
        )
        more = len(rows) > MESSAGES_PER_PAGE
        rows = rows[:MESSAGES_PER_PAGE][::-1]
        if rows:
            return Page(
                messages=rows,
                older=cursors.of(rows[-1]),
                newer=cursors.of(rows[0]) if more else None,
                first=False,
            )
        before = None  # nothing newer: the first page
    if before is not None:
        moment, pk = before
        messages = messages.filter(Q(timestamp__lt=moment) | Q(timestamp=moment, id__lt=pk))
        messages = messages.filter(timestamp__lte=moment)
    rows = list(messages.newest_first()[: MESSAGES_PER_PAGE + 1])
    more = len(rows) > MESSAGES_PER_PAGE
    rows = rows[:MESSAGES_PER_PAGE]
    return Page(
        messages=rows,
        older=cursors.of(rows[-1]) if more else None,
        newer=cursors.of(rows[0]) if before is not None and rows else None,
        first=before is None,
    )
