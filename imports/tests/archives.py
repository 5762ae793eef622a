"""Archives for tests: good ones with hostile texts, and every kind of bad one."""

import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

HOSTILE_BODIES = [
    'She said "hi" and left',
    "back\\slash \\n not a newline \\u0041",
    "control \x01\x02\x1f and tab\tand\r\nnewline",
    "line\u2028separator\u2029paragraph",
    "emoji 🎉🚀 and 𝄞 outside the BMP",
    "</script><b>html</b> & 100%",
    "  leading and trailing spaces  ",
]


def posts(count, *, start=datetime(2020, 1, 1, tzinfo=UTC)):
    """``count`` valid posts with distinct timestamps, hostile texts among them."""
    return [
        {
            "body": f"{HOSTILE_BODIES[i % len(HOSTILE_BODIES)]} #{i}",
            "timestamp": (start + timedelta(seconds=i, microseconds=i)).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ"
            ),
        }
        for i in range(count)
    ]


def write_archive(path: Path, items, **extra) -> Path:
    path.write_text(json.dumps({"user": "someone", **extra, "posts": items}), encoding="utf-8")
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def future_timestamp():
    return (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")


def bad_archives(tmp_path: Path):
    """(name, path, expected reason code, expected params) for each archive the import refuses."""
    good = posts(3)
    zipped = tmp_path / "zipped.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("posts.json", json.dumps({"posts": good}))
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 40
    text = json.dumps({"posts": good})
    cases = [
        ("not_json", write_bytes(tmp_path / "a.json", b"hello, world"), "archive_not_json", {}),
        ("empty", write_bytes(tmp_path / "b.json", b""), "archive_not_json", {}),
        (
            "truncated",
            write_bytes(tmp_path / "c.json", text[:-30].encode()),
            "archive_truncated",
            {},
        ),
        (
            "top_level_list",
            write_bytes(tmp_path / "d.json", json.dumps(good).encode()),
            "archive_wrong_shape",
            {},
        ),
        (
            "no_posts_key",
            write_archive(
                tmp_path / "e.json",
                [],
            ),
            None,
            None,
        ),
        (
            "posts_not_list",
            write_bytes(tmp_path / "f.json", b'{"posts": {"body": "x"}}'),
            "archive_wrong_shape",
            {},
        ),
        (
            "post_not_object",
            write_archive(tmp_path / "g.json", [*good, "just text"]),
            "post_wrong_shape",
            {"index": 3},
        ),
        (
            "body_missing",
            write_archive(tmp_path / "h.json", [*good, {"timestamp": good[0]["timestamp"]}]),
            "post_wrong_shape",
            {"index": 3},
        ),
        (
            "body_not_text",
            write_archive(
                tmp_path / "i.json", [*good[:1], {"body": 12, "timestamp": good[0]["timestamp"]}]
            ),
            "post_wrong_shape",
            {"index": 1},
        ),
        (
            "body_empty",
            write_archive(
                tmp_path / "j.json", [*good, {"body": "", "timestamp": good[0]["timestamp"]}]
            ),
            "post_body_empty",
            {"index": 3},
        ),
        (
            "body_blank",
            write_archive(
                tmp_path / "k.json", [{"body": " \n\t ", "timestamp": good[0]["timestamp"]}]
            ),
            "post_body_empty",
            {"index": 0},
        ),
        (
            "body_too_long",
            write_archive(
                tmp_path / "l.json", [*good, {"body": "é" * 281, "timestamp": good[0]["timestamp"]}]
            ),
            "post_body_too_long",
            {"index": 3, "length": 281, "limit": 280},
        ),
        (
            "body_nul",
            write_archive(
                tmp_path / "m.json",
                [*good[:2], {"body": "a\x00b", "timestamp": good[0]["timestamp"]}],
            ),
            "post_body_nul",
            {"index": 2},
        ),
        (
            "bad_timestamp",
            write_archive(tmp_path / "n.json", [*good, {"body": "x", "timestamp": "yesterday"}]),
            "post_bad_timestamp",
            {"index": 3, "value": "yesterday"},
        ),
        (
            "future_timestamp",
            write_archive(
                tmp_path / "o.json",
                [*good[:1], {"body": "x", "timestamp": (future := future_timestamp())}],
            ),
            "post_future_timestamp",
            {"index": 1, "value": future},
        ),
        (
            "deeply_nested",
            write_bytes(
                tmp_path / "p.json",
                b'{"user": ' + b"[" * 100_000 + b"]" * 100_000 + b', "posts": []}',
            ),
            "archive_wrong_shape",
            {},
        ),
        (
            "huge_string",
            write_bytes(
                tmp_path / "q.json", b'{"user": "' + b"a" * (100 << 20) + b'", "posts": []}'
            ),
            "archive_oversized_value",
            {},
        ),
        (
            "huge_escaped_string",
            write_bytes(
                tmp_path / "r.json", b'{"posts": [{"body": "' + b'\\"' * (3 << 20) + b'"}]}'
            ),
            "archive_oversized_value",
            {},
        ),
        (
            "json_bomb",
            write_bytes(
                tmp_path / "s.json",
                b'{"user": ' + b"[" * (50 << 20) + b"]" * (50 << 20) + b', "posts": []}',
            ),
            "archive_wrong_shape",
            {},
        ),
        ("zip", zipped, "archive_not_json", {}),
        ("image", write_bytes(tmp_path / "t.json", png), "archive_not_json", {}),
    ]
    # An archive without "posts" is not one.
    cases[4] = (
        "no_posts_key",
        write_bytes(tmp_path / "e.json", b'{"user": "x"}'),
        "archive_wrong_shape",
        {},
    )
    return cases
