"""Reading an archive as a stream: validated posts out, or the first problem.

ijson with its C backend (yajl2_c) parses the file in fixed-size chunks, so memory does not
grow with the number of posts. Two things would still make yajl buffer without bound, and both
are refused before it sees them: a single huge string or number (every chunk the reader hands
over must contain an unescaped quote, as any archive of posts does every few hundred bytes),
and deep nesting (MAX_DEPTH).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import ijson

from blog.models import POST_MAX_LENGTH
from imports import reasons

CHUNK = 1 << 20  # bytes per read; also the longest value (string, number) an archive may hold
MAX_DEPTH = 32
TIMESTAMP_SHOWN = 40  # characters of a bad timestamp quoted in the reason


@dataclass
class ArchiveError(Exception):
    code: str
    params: dict = field(default_factory=dict)


class _GuardedReader:
    """Hands the parser the file chunk by chunk, refusing a chunk that lies inside one value."""

    def __init__(self, handle, on_read: Callable[[int], None] | None):
        self.handle = handle
        self.on_read = on_read
        self.position = 0
        self.at_eof = False
        self.last_byte = b""

    def read(self, size: int = CHUNK) -> bytes:
        if size == 0:  # ijson asks once, to learn whether the file gives bytes or text
            return b""
        data = self.handle.read(size)
        self.position += len(data)
        if not data:
            self.at_eof = True
        elif len(data) == size and self._inside_one_value(data):
            raise ArchiveError(reasons.ARCHIVE_OVERSIZED_VALUE)
        self.last_byte = data[-1:]
        if self.on_read is not None:
            self.on_read(self.position)
        return data

    def _inside_one_value(self, data: bytes) -> bool:
        """No quote in ``data`` can open or close a string: every one is escaped."""
        escaped = data.count(b'\\"') + (data[:1] == b'"' and self.last_byte == b"\\")
        return data.count(b'"') <= escaped


def read_posts(
    path, *, now: datetime, on_read: Callable[[int], None] | None = None
) -> Iterator[tuple[str, datetime]]:
    """Yield each post of the archive at ``path`` as (body, aware UTC timestamp), in file order;
    raise ArchiveError for the first problem. ``on_read(bytes_read)`` follows the reading."""
    with open(path, "rb") as handle:
        reader = _GuardedReader(handle, on_read)
        events = ijson.basic_parse(reader, buf_size=CHUNK, use_float=True)
        try:
            yield from _posts(events, now)
        except ijson.JSONError as error:
            raise _parse_error(error, reader) from None
        except UnicodeDecodeError:
            raise ArchiveError(reasons.ARCHIVE_NOT_JSON) from None


def _parse_error(error, reader) -> ArchiveError:
    message = str(error)
    if reader.position and ("premature EOF" in message or reader.at_eof):
        return ArchiveError(reasons.ARCHIVE_TRUNCATED)
    return ArchiveError(reasons.ARCHIVE_NOT_JSON)


def _posts(events, now):
    wrong_shape = ArchiveError(reasons.ARCHIVE_WRONG_SHAPE)
    event, _ = next(events)
    if event != "start_map":
        raise wrong_shape
    seen_posts = False
    for event, value in events:
        if event == "end_map":  # the end of the top-level object
            break
        # event is "map_key"
        if value == "posts" and seen_posts:  # two lists of posts: which one is meant?
            raise wrong_shape
        if value != "posts":
            _skip_value(events, wrong_shape)
            continue
        seen_posts = True
        event, _ = next(events)
        if event != "start_array":
            raise wrong_shape
        yield from _post_items(events, now)
    if not seen_posts:
        raise wrong_shape
    for _event in events:  # the parser still checks what follows (trailing garbage)
        pass


def _post_items(events, now):
    index = 0
    for event, _ in events:
        if event == "end_array":
            return
        if event != "start_map":
            raise ArchiveError(reasons.POST_WRONG_SHAPE, {"index": index})
        body = timestamp = None
        for event, key in events:
            if event == "end_map":
                break
            event, value = next(events)
            if key in ("body", "timestamp") and event == "string":
                if key == "body":
                    body = value
                else:
                    timestamp = value
            elif key in ("body", "timestamp"):
                raise ArchiveError(reasons.POST_WRONG_SHAPE, {"index": index})
            elif event in ("start_map", "start_array"):
                _skip_nested(events, ArchiveError(reasons.POST_WRONG_SHAPE, {"index": index}))
        if body is None or timestamp is None:
            raise ArchiveError(reasons.POST_WRONG_SHAPE, {"index": index})
        yield _check_body(body, index), _parse_timestamp(timestamp, index, now)
        index += 1  # noqa: SIM113 - the loop also consumes each post's inner events


def _check_body(body, index):
    if "\x00" in body:
        raise ArchiveError(reasons.POST_BODY_NUL, {"index": index})
    if not body.strip():
        raise ArchiveError(reasons.POST_BODY_EMPTY, {"index": index})
    if len(body) > POST_MAX_LENGTH:
        raise ArchiveError(
            reasons.POST_BODY_TOO_LONG,
            {"index": index, "length": len(body), "limit": POST_MAX_LENGTH},
        )
    return body


def _parse_timestamp(text, index, now):
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ArchiveError(
            reasons.POST_BAD_TIMESTAMP, {"index": index, "value": text[:TIMESTAMP_SHOWN]}
        ) from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment > now:
        raise ArchiveError(
            reasons.POST_FUTURE_TIMESTAMP, {"index": index, "value": text[:TIMESTAMP_SHOWN]}
        )
    return moment


def _skip_value(events, too_deep):
    event, _ = next(events)
    if event in ("start_map", "start_array"):
        _skip_nested(events, too_deep)


def _skip_nested(events, too_deep):
    depth = 1
    for event, _ in events:
        if event in ("start_map", "start_array"):
            depth += 1
            if depth > MAX_DEPTH:
                raise too_deep
        elif event in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                return
