"""Reading archives: every good post comes out exactly, every bad input names its problem."""

import json
import resource
from datetime import UTC, datetime

import pytest

from imports.archive import ArchiveError, read_posts
from imports.tests.archives import HOSTILE_BODIES, bad_archives, posts, write_archive


def now():
    return datetime.now(UTC)


def test_the_c_backend_parses_archives():
    import ijson

    assert ijson.backend == "yajl2_c"


def test_an_export_shaped_archive_yields_every_post_exactly(tmp_path):
    items = posts(50)
    path = write_archive(tmp_path / "posts.json", items, exported_at="2026-01-01T00:00:00Z")
    read = list(read_posts(path, now=now()))
    assert [body for body, _ in read] == [item["body"] for item in items]
    assert {body.split(" #")[0] for body, _ in read} == set(HOSTILE_BODIES)
    assert read[3][1] == datetime(2020, 1, 1, 0, 0, 3, 3, tzinfo=UTC)


def test_timestamps_without_offset_are_utc_and_offsets_are_converted(tmp_path):
    path = write_archive(
        tmp_path / "posts.json",
        [
            {"body": "naive", "timestamp": "2021-05-06T07:08:09"},
            {"body": "offset", "timestamp": "2021-05-06T09:08:09+02:00"},
            {"body": "zulu", "timestamp": "2021-05-06T07:08:09.5Z", "extra": {"ignored": [1]}},
        ],
    )
    stamps = [moment for _, moment in read_posts(path, now=now())]
    assert stamps[0] == stamps[1] == datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert stamps[2] == datetime(2021, 5, 6, 7, 8, 9, 500000, tzinfo=UTC)


def test_an_empty_archive_has_no_posts(tmp_path):
    path = write_archive(tmp_path / "posts.json", [])
    assert list(read_posts(path, now=now())) == []


@pytest.mark.slow
def test_every_bad_archive_names_its_problem_in_flat_memory(tmp_path):
    for name, path, code, params in bad_archives(tmp_path):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with pytest.raises(ArchiveError) as caught:
            for _post in read_posts(path, now=now()):
                pass
        assert (caught.value.code, caught.value.params) == (code, params), name
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        assert grown_mb < 30, f"{name} grew memory by {grown_mb:.0f} MB"
        path.unlink()


def test_a_repeated_posts_key_is_not_an_archive(tmp_path):
    path = tmp_path / "posts.json"
    path.write_text('{"posts": [], "posts": []}')
    with pytest.raises(ArchiveError) as caught:
        list(read_posts(path, now=now()))
    assert caught.value.code == "archive_wrong_shape"


def test_a_timestamp_quoted_in_a_reason_is_cut_short(tmp_path):
    long = "x" * 500
    path = write_archive(tmp_path / "posts.json", [{"body": "b", "timestamp": long}])
    with pytest.raises(ArchiveError) as caught:
        list(read_posts(path, now=now()))
    assert caught.value.params == {"index": 0, "value": "x" * 40}
    assert json.dumps(caught.value.params)
