"""/healthz: database and Redis reachable (200) or not (503) (ops/health.py)."""

import pytest

from devtools.embedded_redis import EmbeddedRedis
from redis_clients import RedisConfig

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_with_the_database_and_redis_up_and_names_the_redis_it_reached(
    client, settings
):
    response = client.get("/healthz")

    assert response.status_code == 200
    port = settings.REDIS_URL.rsplit(":", 1)[1].split("/")[0]
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "redis": "ok",
        "redis_primary": f"127.0.0.1:{port}",
    }


def test_healthz_is_unavailable_once_redis_goes_down(client, settings):
    server = EmbeddedRedis().start()
    try:
        settings.REDIS = RedisConfig(url=server.url)
        assert client.get("/healthz").status_code == 200

        server.stop()
        response = client.get("/healthz")
    finally:
        server.stop()

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "redis": "unreachable"}
    assert "no-cache" in response["Cache-Control"]


def test_the_cheap_check_asks_nothing_about_workers_or_disk(client):
    body = client.get("/healthz").json()

    assert set(body) == {"status", "database", "redis", "redis_primary"}


def test_the_deep_check_fails_without_a_live_worker_and_says_which_check_failed(
    client, redis_client
):
    response = client.get("/healthz?deep=1")

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["redis"], body["disk"]) == (
        "unavailable",
        "ok",
        "ok",
        "ok",
    )
    assert body["worker"] == "no worker seen in the last 60 s"
    assert body["workers_live"] == 0
    assert body["disk_free_bytes"] > 0


def test_the_deep_check_fails_on_a_redis_that_may_evict_rqs_keys(client, redis_client):
    """Evicting a worker's key made it invisible to every check while it ran exports."""
    redis_client.config_set("maxmemory-policy", "allkeys-lru")
    try:
        response = client.get("/healthz?deep=1")
        metrics = client.get("/metrics").content.decode()
    finally:
        redis_client.config_set("maxmemory-policy", "noeviction")

    assert response.status_code == 503
    body = response.json()
    assert body["redis_memory"] == (
        "maxmemory-policy is allkeys-lru: Redis may evict RQ's jobs and workers (set noeviction)"
    )
    assert body["redis_maxmemory_policy"] == "allkeys-lru"
    assert 'microblog_redis_maxmemory_policy{policy="allkeys-lru"} 1.0' in metrics


def test_the_deep_check_reports_a_full_redis(client, redis_client):
    redis_client.config_set("maxmemory", 1)  # below what an empty Redis uses
    try:
        body = client.get("/healthz?deep=1").json()
    finally:
        redis_client.config_set("maxmemory", 0)

    assert body["redis_memory"] == "full: maxmemory reached, writes are refused"


def test_the_deep_check_reports_a_disk_without_room_for_exports(client, redis_client, settings):
    settings.HEALTH_MIN_FREE_BYTES = 1 << 60

    body = client.get("/healthz?deep=1").json()

    assert body["disk"] == "low on space"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_deep_check_is_healthy_with_a_live_worker(client, worker):
    from testkit.waiting import wait_until

    response = wait_until(
        lambda: (r := client.get("/healthz?deep=1")).status_code == 200 and r, 30, 0.2
    )

    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "redis": "ok",
        "redis_primary": response.json()["redis_primary"],
        "worker": "ok",
        "redis_memory": "ok",
        "disk": "ok",
        "sentinels": "not configured (REDIS_URL)",
        "workers_live": 1,
        "workers_clock_skewed": 0,
        "redis_maxmemory_policy": "noeviction",
        "disk_free_bytes": response.json()["disk_free_bytes"],
    }
