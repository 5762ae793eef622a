"""pytest plugin (loaded with -p before Django's settings): the test session's own Redis.

Tests never touch a shared Redis: the session starts an embedded redis-server on a free loopback
port, points REDIS_URL at it before settings are read, and stops it when the session ends.
"""

import atexit
import os

from microblog.embedded_redis import EmbeddedRedis

SERVER = EmbeddedRedis().start()
atexit.register(SERVER.stop)
os.environ["REDIS_URL"] = SERVER.url
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-" + os.urandom(8).hex())
os.environ["STATIC_MANIFEST"] = "false"
