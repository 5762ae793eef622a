"""No stored file is reachable by its URL, even in development (`make run` turns DEBUG on).

Export files are sent only by their owner-checked download view, and uploaded archives are read
only by their import job. A development route that served MEDIA_ROOT while excluding
``private/`` let ``/media//private/...`` and ``/media/x/../private/...`` through, because
Django's static ``serve`` normalises the path after the URL pattern matched.
"""

import pytest
import requests

from testkit import processes

pytestmark = pytest.mark.django_db(transaction=True)

PATHS = [
    "private/imports/7.json",
    "/private/imports/7.json",
    "./private/imports/7.json",
    "x/../private/imports/7.json",
    "exports/posts-7.json",
]


def test_a_development_server_serves_no_stored_file_by_its_url(media_root, tmp_path):
    for relative in ("private/imports/7.json", "exports/posts-7.json"):
        path = media_root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"posts": [{"body": "secret", "timestamp": "2026-01-01T00:00:00Z"}]}')
    web = processes.start_daphne(tmp_path / "daphne.log", DEBUG="true", MEDIA_ROOT=media_root)
    try:
        assert requests.get(f"{web.url}/healthz", timeout=10).status_code == 200
        for path in PATHS:
            response = requests.get(f"{web.url}/media/{path}", timeout=10)
            assert response.status_code == 404, path
            assert "secret" not in response.text, path
    finally:
        web.stop()
