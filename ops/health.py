"""/healthz: can this process reach its database and Redis? (200 / 503 JSON)

It stays cheap (one query, one PING) because load balancers and the image's HEALTHCHECK call it
every few seconds. ``/healthz?deep=1`` is for operators: it also asks whether a worker that
takes jobs beat in the last HEALTH_WORKER_MAX_AGE seconds (by Redis's clock, ops/clock.py),
whether Redis keeps every key and has room (ops/redis_memory.py), and whether the disk
where exports are written has HEALTH_MIN_FREE_BYTES free; each check reports its own status.
"""

import shutil
from pathlib import Path

import redis
from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

import redis_clients
from redis_clients import topology as redis_topology

OK = "ok"


def _database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return OK, {}
    except Exception:  # noqa: BLE001 - any failure means "unreachable"
        return "unreachable", {}


def _redis():
    client = redis_clients.client(timeout=1)
    try:
        client.ping()
        return OK, {"redis_primary": redis_topology.primary_address(client)}
    except redis.RedisError:
        return "unreachable", {}


def _worker():

    from ops import clock

    try:
        live = clock.live_workers(redis_clients.client(timeout=1))
    except redis.RedisError:
        return "unknown (Redis unreachable)", {"workers_live": None, "workers_clock_skewed": None}
    skewed = sum(1 for worker in live if worker.skewed)
    if not live:
        status = f"no worker seen in the last {settings.HEALTH_WORKER_MAX_AGE} s"
    elif skewed == len(live):
        limit = settings.CLOCK_SKEW_MAX
        status = f"no worker takes jobs: every live worker's clock is off by over {limit} s"
    else:
        status = OK
    return status, {"workers_live": len(live), "workers_clock_skewed": skewed}


def _redis_memory():
    from ops.redis_memory import redis_memory

    try:
        memory = redis_memory(redis_clients.client(timeout=1))
    except redis.RedisError:
        return "unknown (Redis unreachable)", {"redis_maxmemory_policy": None}
    return memory.status, {"redis_maxmemory_policy": memory.policy}


def _disk():
    if not isinstance(default_storage, FileSystemStorage):
        return "not checked (exports are not on a local disk)", {"disk_free_bytes": None}
    path = Path(settings.MEDIA_ROOT)
    while not path.exists() and path != path.parent:
        path = path.parent
    free = shutil.disk_usage(path).free
    status = OK if free >= settings.HEALTH_MIN_FREE_BYTES else "low on space"
    return status, {"disk_free_bytes": free}


CHEAP = {"database": _database, "redis": _redis}
DEEP = {
    **CHEAP,
    "worker": _worker,
    "redis_memory": _redis_memory,
    "disk": _disk,
    "sentinels": redis_topology.health_check,
}


@never_cache
def healthz(request):
    checks = DEEP if request.GET.get("deep") in {"1", "true", "yes"} else CHEAP
    body = {"status": OK}
    details = {}
    for name, check in checks.items():
        status, detail = check()
        body[name] = status
        details.update(detail)
    # A storage that is not a local disk is not a failure of this process.
    failed = [name for name in checks if body[name] != OK and not body[name].startswith("not ")]
    if failed:
        body["status"] = "unavailable"
    body.update(details)
    return JsonResponse(body, status=503 if failed else 200)
