"""The keyset cursor of /messages/: a message's ``(timestamp, id)`` as ``<microseconds>-<id>``."""

import re
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"(\d{1,18})-(\d{1,18})")
_MICROSECOND = timedelta(microseconds=1)


def of(message) -> str:
    return f"{(message.timestamp - EPOCH) // _MICROSECOND}-{message.pk}"


def parse(cursor: str | None):
    """``(timestamp, id)``, or None for a missing or malformed cursor."""
    found = _CURSOR.fullmatch(cursor or "")
    if not found:
        return None
    try:
        moment = EPOCH + int(found.group(1)) * _MICROSECOND
    except OverflowError:
        return None
    return moment, int(found.group(2))
