"""A form upload is parsed once, by Django, not first by daphne's Twisted in memory
(serverpatches/request_bodies.py), checked against a real daphne."""

import http.client

import pytest

from testkit.processes import peak_rss_mb, start_daphne

pytestmark = [pytest.mark.django_db(transaction=True)]

MB = 2**20
UPLOAD = 24 * MB


def test_a_multipart_upload_is_not_parsed_into_daphnes_memory(redis_client, media_root, tmp_path):
    """Twisted parsed every multipart body into form fields with the whole body in memory, a few
    copies of it at once: daphne's peak grew by several times the upload."""
    web = start_daphne(tmp_path / "daphne.log", MEDIA_ROOT=media_root, REQUEST_MAX_BYTES=64 * MB)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=60)
        connection.request("GET", "/healthz")
        assert connection.getresponse().read()  # daphne has served a request: its baseline
        before = peak_rss_mb(web.pid)
        boundary = "formboundary"
        body = b"".join(
            [
                f"--{boundary}\r\n".encode(),
                b'Content-Disposition: form-data; name="upload"; filename="upload.bin"\r\n',
                b"Content-Type: application/octet-stream\r\n\r\n",
                b"x" * UPLOAD,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        connection.request("POST", "/accounts/login/", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()

        assert response.status == 403  # read by Django, then refused: no CSRF token
        grown = peak_rss_mb(web.pid) - before
        assert grown < UPLOAD / MB / 2, f"daphne's peak grew {grown:.0f} MB for a 24 MB upload"
    finally:
        web.stop()
