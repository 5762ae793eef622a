"""pytest plugin (loaded with -p before Django's settings): the test session's own Redis.

Tests never touch a shared Redis: the session starts an embedded redis-server on a free loopback
port, points REDIS_URL at it before settings are read, and stops it when the session ends.
Tests never read a developer's `var/dev.env` either (ENV_FILE empty), and the session leaves no
file of its SQLite test database behind in var/.
"""

import atexit
import os
from pathlib import Path

from devtools.embedded_redis import EmbeddedRedis

SERVER = EmbeddedRedis().start()
atexit.register(SERVER.stop)
os.environ["REDIS_URL"] = SERVER.url
for name in ("REDIS_SENTINELS", "REDIS_SENTINEL_MASTER"):  # they would replace REDIS_URL
    os.environ.pop(name, None)
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-" + os.urandom(8).hex())
os.environ["STATIC_MANIFEST"] = "false"
os.environ["ENV_FILE"] = ""  # the children started by tests inherit it


@atexit.register
def _remove_sqlite_test_database():
    """Django drops the test database file but not SQLite's -wal and -shm beside it."""
    var = Path(__file__).resolve().parent.parent / "var"
    for path in var.glob(f"test-{os.getpid()}.sqlite3*"):
        path.unlink(missing_ok=True)
