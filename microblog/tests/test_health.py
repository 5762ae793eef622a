"""/healthz: database and Redis reachable (200) or not (503) (microblog/health.py)."""

import pytest

from microblog.embedded_redis import EmbeddedRedis

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_with_the_database_and_redis_up(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_is_unavailable_once_redis_goes_down(client, settings):
    server = EmbeddedRedis().start()
    try:
        settings.REDIS_URL = server.url
        assert client.get("/healthz").status_code == 200

        server.stop()
        response = client.get("/healthz")
    finally:
        server.stop()

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "redis": "unreachable"}
    assert "no-cache" in response["Cache-Control"]
