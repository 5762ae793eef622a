"""/healthz: can this process reach its database and Redis? (200 / 503 JSON)

It stays cheap (one query, one PING) because load balancers and the image's HEALTHCHECK call it
every few seconds. ``/healthz?deep=1`` is for operators: it also asks whether a worker beat in
the last HEALTH_WORKER_MAX_AGE seconds and whether the disk where exports are written has
HEALTH_MIN_FREE_BYTES free; each check reports its own status.
"""

import shutil
from pathlib import Path

import redis
from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from microblog import redis_clients, redis_topology

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
    from rq import Worker

    from microblog.metrics import live_workers

    try:
        workers = Worker.all(connection=redis_clients.client(timeout=1))
    except redis.RedisError:
        return "unknown (Redis unreachable)", {"workers_live": None}
    live = len(live_workers(workers))
    status = OK if live else f"no worker seen in the last {settings.HEALTH_WORKER_MAX_AGE} s"
    return status, {"workers_live": live}


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
DEEP = {**CHEAP, "worker": _worker, "disk": _disk, "sentinels": redis_topology.health_check}


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
