"""An archive upload costs daphne at most one copy of the file in memory, not a dozen.

Twisted, under daphne, parsed every multipart POST into form fields that nothing reads, through
the standard library's e-mail parser with the whole body in memory (serverpatches/request_bodies.py
turns that off): a 40 MB upload raised daphne's peak memory by 475 MB, so a 256 MB one would
have cost a web process 3 GB. The one copy that remained, daphne queueing the whole body for
the application at once, is gone too: serverpatches/request_limits.py hands the application the body
from Twisted's temporary file a chunk at a time (serverpatches/tests/test_request_limits.py holds
daphne to that).
"""

import pytest

from imports.tests.archives import posts, write_archive
from testkit.processes import peak_rss_mb

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_a_large_upload_does_not_raise_daphnes_peak_memory(site, visitor, tmp_path):
    archive = write_archive(tmp_path / "posts.json", posts(400_000))
    size_mb = archive.stat().st_size / 2**20
    assert size_mb > 35
    visitor.get("/imports/")  # daphne has served a page: its baseline
    before = peak_rss_mb(site.pid)

    visitor.start_import(archive)

    grown = peak_rss_mb(site.pid) - before
    assert grown < size_mb * 1.5, f"daphne's peak grew {grown:.0f} MB for a {size_mb:.0f} MB upload"
