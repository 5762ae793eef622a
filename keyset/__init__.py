"""Keyset pages: "Older" and "Newer" links carry a signed cursor, the (time, id) of the last or
first row shown, and the next page starts right after it in the index. A page never counts
the rows it does not show and never skips an OFFSET, so page 50 costs what page 1 costs.

The id breaks ties between equal times, so a row is neither skipped nor shown twice. A cursor
whose signature does not verify (edited, or signed with another SECRET_KEY) gives the first
page.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from django.core import signing
from django.db.models import F
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

OLDER = "older"
NEWER = "newer"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class Direction(Enum):
    FIRST = "first"  # the newest rows
    OLDER = OLDER  # rows before the cursor, newest first
    NEWER = NEWER  # rows after the cursor, oldest first (the page reverses them)


@dataclass(frozen=True)
class Key:
    """The attributes that order a page's rows: a time, then an id of type `pk_type`."""

    moment: str
    pk: str
    pk_type: type = int

    def signer(self) -> signing.Signer:
        """A cursor of one kind of row (the key names it) is not valid for another."""
        return signing.Signer(salt=f"keyset.{self.moment}.{self.pk}")


@dataclass(frozen=True)
class Cursor:
    moment: datetime
    pk: int | str

    def sign(self, key: Key) -> str:
        micros = (self.moment - _EPOCH) // _MICROSECOND
        return key.signer().sign_object([micros, self.pk])

    @classmethod
    def unsign(cls, value: str | None, key: Key) -> "Cursor | None":
        """The cursor, or None for a missing, malformed or tampered one."""
        if not value:
            return None
        try:
            micros, pk = key.signer().unsign_object(value)
            if type(micros) is not int or type(pk) is not key.pk_type:
                return None
            return cls(_EPOCH + micros * _MICROSECOND, pk)
        except (signing.BadSignature, ValueError, TypeError, OverflowError):
            return None


@dataclass
class Page:
    """The rows of one page, newest first, and the cursors of the pages either side."""

    rows: list
    older: str | None
    newer: str | None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def has_other_pages(self) -> bool:
        return bool(self.older or self.newer)


# fetch(direction, cursor, limit) -> up to `limit` rows: newest first for FIRST and OLDER,
# oldest first for NEWER.
Fetch = Callable[[Direction, Cursor | None, int], Sequence]


def page(query, fetch: Fetch, *, size: int, key: Key) -> Page:
    """The page that `query` (request.GET) asks for: `?older=<cursor>`, `?newer=<cursor>` or
    the first."""
    direction, cursor = Direction.FIRST, None
    for candidate in (Direction.OLDER, Direction.NEWER):
        cursor = Cursor.unsign(query.get(candidate.value), key)
        if cursor is not None:
            direction = candidate
            break
    rows = list(fetch(direction, cursor, size + 1))
    more = len(rows) > size
    rows = rows[:size]
    if direction is Direction.NEWER:
        rows.reverse()
    if not rows:
        return Page(rows, None, None)

    def cursor_of(row):
        return Cursor(getattr(row, key.moment), getattr(row, key.pk)).sign(key)

    older = more if direction is not Direction.NEWER else True
    newer = more if direction is Direction.NEWER else direction is Direction.OLDER
    return Page(
        rows,
        older=cursor_of(rows[-1]) if older else None,
        newer=cursor_of(rows[0]) if newer else None,
    )


def queryset_fetch(queryset, key: Key) -> Fetch:
    """A Fetch over a queryset, ordered on `key` (an index on it makes every page a range scan
    of `limit` rows)."""
    moment, pk = key.moment, key.pk
    columns = Tuple(F(moment), F(pk))

    def fetch(direction: Direction, cursor: Cursor | None, limit: int):
        rows = queryset
        if direction is Direction.NEWER:
            rows = rows.filter(TupleGreaterThan(columns, (cursor.moment, cursor.pk)))
            return rows.order_by(moment, pk)[:limit]
        if direction is Direction.OLDER:
            rows = rows.filter(TupleLessThan(columns, (cursor.moment, cursor.pk)))
        return rows.order_by(f"-{moment}", f"-{pk}")[:limit]

    return fetch
