"""Microblog settings: everything an operator may change comes from the environment."""

import os
from pathlib import Path

import environ

from microblog.config import REQUIRED, Config
from redis_clients import RedisConfig

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # local state: SQLite database, mail, pid files
VAR_DIR.mkdir(exist_ok=True)

# The development configuration: the Makefile writes var/dev.env once (DEBUG=true and a generated
# SECRET_KEY), so every manage.py command works in a checkout without extra variables. Real
# environment variables always win over the file; ENV_FILE names another file, or none when empty.
# Production has no such file (.dockerignore leaves var/ out; systemd uses /etc/microblog.env).
# Not `.env`: docker-compose reads a `.env` beside its file, and would run production containers
# with the development key.
ENV_FILE = os.environ.get("ENV_FILE", str(VAR_DIR / "dev.env"))
_real_environment = set(os.environ)
if ENV_FILE and Path(ENV_FILE).is_file():
    environ.Env.read_env(ENV_FILE)
config = Config(environ.Env())

DEBUG = config.bool("DEBUG", default=False)
# A development key is only acceptable while DEBUG is on; production must set its own, in its
# real environment (a development key left in var/dev.env does not count).
SECRET_KEY = config.str("SECRET_KEY", default="django-insecure-dev-only" if DEBUG else REQUIRED)
if not DEBUG and "SECRET_KEY" not in _real_environment:
    config.fail("SECRET_KEY", "is required but not set (the key in var/dev.env is for DEBUG only)")
ALLOWED_HOSTS = config.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = config.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",  # first, so that `runserver` serves ASGI (HTTP and websockets) too
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",  # lets TemplatesSetting find Django's own widget templates
    "channels",
    "django_rq",
    "accounts",
    "blog",  # label "microblog": its tables, migrations and permissions kept their names
    "usertasks",
    "exports",
    "imports",
    "private_messages",
    "pagecache",  # its {% live %} tag
]

MIDDLEWARE = [
    # Outermost: counts and times every response of this process, per view (/metrics).
    "ops.metrics.http.HttpMetricsMiddleware",
    # First, so every response and every log line of the request carries its id; it reads the
    # user lazily, after AuthenticationMiddleware has run (ops/logging.py).
    "ops.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "microblog.urls"
FORM_RENDERER = "microblog.forms_renderer.BootstrapFormRenderer"
ASGI_APPLICATION = "microblog.asgi.application"
WSGI_APPLICATION = "microblog.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "usertasks.context_processors.tasks",
                "private_messages.context_processors.unread_messages",
            ],
        },
    },
]

DATABASES = {
    "default": config.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker write progress while daphne reads; IMMEDIATE avoids
    # "database is locked" upgrades when both write at once.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests run web and worker in separate processes, so the test database must be a file
    # (one per test run, so that two runs never share it).
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    # 0 under ASGI: Django runs each request's sync code in a thread of its own, so a
    # persistent connection is stranded with its thread; under load that exhausted
    # PostgreSQL's max_connections in the web benchmark. Pool with pgbouncer instead.
    DATABASES["default"]["CONN_MAX_AGE"] = config.int("CONN_MAX_AGE", default=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Required behind pgbouncer in transaction mode: .iterator()'s server-side cursors would
    # outlive the transaction that pgbouncer ties to one server connection.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = config.bool(
        "DISABLE_SERVER_SIDE_CURSORS", default=False
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "index"
LOGOUT_REDIRECT_URL = "index"

LANGUAGE_CODE = "en"
# The language follows the browser (Accept-Language) until the user picks one in the footer.
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where `collectstatic` writes and a reverse proxy reads (deploy/nginx/).
STATIC_ROOT = config.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = config.str("MEDIA_ROOT", default=str(BASE_DIR / "media"))
# Hashed, compressed static files need `collectstatic`; development and tests serve from finders.
STATIC_MANIFEST = config.bool("STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    # Web and workers must share it: one disk (or volume) for FileSystemStorage, or e.g. an
    # object store backend (whose own settings then need adding here).
    "default": {
        "BACKEND": config.str(
            "MEDIA_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
        )
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
WHITENOISE_AUTOREFRESH = not STATIC_MANIFEST

# Redis carries the RQ queue and the Channels layer. `make run` and the test session start an
# embedded server and set REDIS_URL; standalone commands fall back to the conventional local one.
REDIS_URL = config.url("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Redis Sentinel, when REDIS_SENTINELS is set, replaces REDIS_URL for every client of the site:
# all of them are built by redis_clients/__init__.py from REDIS (docs/operations.md
# "Redis: managed, or Sentinel").
REDIS_SENTINELS = config.addresses("REDIS_SENTINELS", default=[])
REDIS_SENTINEL_MASTER = config.str("REDIS_SENTINEL_MASTER", default="")
if REDIS_SENTINELS and not REDIS_SENTINEL_MASTER:
    config.fail("REDIS_SENTINEL_MASTER", "is required when REDIS_SENTINELS is set")
if REDIS_SENTINEL_MASTER and not REDIS_SENTINELS:
    config.fail("REDIS_SENTINELS", "is required when REDIS_SENTINEL_MASTER is set")
REDIS_DB = config.int("REDIS_DB", default=0)
if REDIS_DB < 0:
    config.fail("REDIS_DB", "has a malformed value (expected a database number, 0 or more)")
REDIS = RedisConfig(
    url=REDIS_URL,
    sentinels=tuple(REDIS_SENTINELS),
    master=REDIS_SENTINEL_MASTER,
    password=config.str("REDIS_PASSWORD", default=""),
    sentinel_password=config.str("REDIS_SENTINEL_PASSWORD", default=""),
    db=REDIS_DB,
)

# Redis pub/sub (channels-redis's RedisPubSubChannelLayer), not its queue-based RedisChannelLayer:
# a group message is one PUBLISH, pushed to each web process's one subscription, where the
# queue-based layer cost the worker four round trips and the web process four more per message,
# one message after the other, which made a burst of exports queue up (bench/RESULTS.md §5).
# What pub/sub does not keep (a message sent while a web process is disconnected or its
# subscription was dropped by Redis), usertasks/socket_watch.py makes good.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS.channel_layer_host()]},
    },
}

RQ_QUEUES = {
    "default": {**REDIS.rq_connection(), "DEFAULT_TIMEOUT": 600},
}
RQ = {
    # One publish-on-commit mechanism, ours: usertasks.services.launch_task checks Redis inside
    # the caller's transaction and enqueues from transaction.on_commit, so a Redis failure ends
    # the Task "failed" in the same request, in or out of atomic(). django-rq's "on_db_commit"
    # would raise it only during the commit, after the user was told the task started. "auto"
    # makes enqueue() act at once (also for accounts' password-reset jobs, which need no row).
    "COMMIT_MODE": "auto",
    # exports' ReconcilingWorker, which also leaves a heartbeat file for the container's probe.
    "WORKER_CLASS": "usertasks.workers.HeartbeatFileWorker",
}
RQ_SHOW_ADMIN_LINK = True

email_host = config.str("EMAIL_HOST", default="")
DEFAULT_FROM_EMAIL = config.str("DEFAULT_FROM_EMAIL", default="Microblog <noreply@localhost>")
if email_host:
    MAILERS = {
        "default": {
            # Django's SMTP backend, counting failed sends for /metrics (ops/mail.py).
            "BACKEND": "ops.mail.SMTPBackend",
            "OPTIONS": {
                "host": email_host,
                "port": config.int("EMAIL_PORT", default=25),
                "username": config.str("EMAIL_HOST_USER", default=""),
                "password": config.str("EMAIL_HOST_PASSWORD", default=""),
                "use_tls": config.bool("EMAIL_USE_TLS", default=False),
                "timeout": 30,
            },
        },
    }
else:
    # Without an SMTP relay, mail lands in var/mail/ so a developer can read it.
    MAILERS = {
        "default": {
            "BACKEND": "ops.mail.FileBackend",
            "OPTIONS": {"file_path": str(VAR_DIR / "mail")},
        },
    }

# Exports.
EXPORT_ATTACHMENT_MAX_BYTES = config.int("EXPORT_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# The port this machine serves on (`make run`, the Procfile); links in e-mails follow it unless
# SITE_URL says otherwise.
PORT = config.int("PORT", default=8000)
SITE_URL = config.str("SITE_URL", default=f"http://127.0.0.1:{PORT}")

SESSION_ENGINE = "accounts.sessions"  # Django's database sessions, read without the ORM
SESSION_COOKIE_SECURE = config.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = config.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = config.bool("SECURE_SSL_REDIRECT", default=False)
# Health probes (Docker's HEALTHCHECK, load balancers) and Prometheus speak plain HTTP to the
# process itself.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = config.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = config.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = config.bool("SECURE_HSTS_PRELOAD", default=False)
_proxy_header = config.str("SECURE_PROXY_SSL_HEADER", default="")
if _proxy_header:
    # e.g. "HTTP_X_FORWARDED_PROTO,https" when a TLS-terminating proxy sits in front.
    SECURE_PROXY_SSL_HEADER = tuple(_proxy_header.split(",", 1))

# Logs go to stdout, one event per line: JSON in production (time, level, logger, message and
# request_id / user_id / task_id when known), plain text for people reading `make run`.
LOG_FORMAT = config.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    config.fail("LOG_FORMAT", "has a malformed value (expected json or text)")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "ops.logging.ContextFilter"}},
    "formatters": {
        "json": {"()": "ops.logging.JSONFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": config.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Drop Django's own DEBUG-only console handler: with it, `make run` printed each
        # django.* record twice.
        "django": {"handlers": []},
        "django.server": {"level": "WARNING"},
    },
}

# Seconds a rendered timeline page may be served from Redis while nothing it shows changed
# (pagecache/__init__.py); 0 renders every request.
PAGE_CACHE_SECONDS = config.int("PAGE_CACHE_SECONDS", default=30)
if PAGE_CACHE_SECONDS < 0:
    config.fail("PAGE_CACHE_SECONDS", "has a malformed value (expected seconds, 0 or more)")

# Per user and per task kind, exports and imports alike; 0 disables the limit.
TASKS_PER_HOUR = config.int("TASKS_PER_HOUR", default=5, formerly="EXPORTS_PER_HOUR")
# Task websockets of one user in one web process: a page opens one, so 50 is 50 tabs; past it
# one user's sockets could hold a process's memory and loop (usertasks/consumers.py).
WEBSOCKETS_PER_USER = config.int("WEBSOCKETS_PER_USER", default=50)
MESSAGES_PER_HOUR = config.int("MESSAGES_PER_HOUR", default=60)  # per sender; 0: no limit
EXPORT_RETENTION_DAYS = config.int("EXPORT_RETENTION_DAYS", default=7)
# Behind nginx (deploy/nginx/): the internal location that serves MEDIA_ROOT/exports/, e.g.
# "/_protected/". The download view then answers with X-Accel-Redirect and no body, so daphne
# (which buffers response bodies whole) never holds a file. Empty: Django sends it.
EXPORT_DOWNLOAD_ACCEL_PREFIX = config.str("EXPORT_DOWNLOAD_ACCEL_PREFIX", default="")
# Seconds between progress reports while an export runs (at most ten a second).
EXPORT_PROGRESS_INTERVAL = config.float("EXPORT_PROGRESS_INTERVAL", default=0.1)

# Task kinds registered besides the installed apps' own (an app registers its kinds in its
# AppConfig.ready()): dotted paths of usertasks.kinds.TaskKind objects, for a kind that lives
# outside an app. Web and workers need the same list. Empty: only the apps' kinds.
TASK_KINDS = config.list("TASK_KINDS", default=[])

# How fast a dead worker's task is noticed (see usertasks/workers.py): workers beat every
# RQ_JOB_MONITORING_INTERVAL s and reconcile every RQ_MAINTENANCE_INTERVAL s; a running job
# whose beat is older than TASK_HEARTBEAT_GRACE s is declared lost.
RQ_JOB_MONITORING_INTERVAL = config.int("RQ_JOB_MONITORING_INTERVAL", default=5)
RQ_MAINTENANCE_INTERVAL = config.int("RQ_MAINTENANCE_INTERVAL", default=15)
TASK_HEARTBEAT_GRACE = config.int("TASK_HEARTBEAT_GRACE", default=20)
# A worker whose clock is further than this from Redis's takes no job (usertasks/worker_clock.py):
# RQ judges one host's heartbeats by another's clock. Keep it well under TASK_HEARTBEAT_GRACE.
CLOCK_SKEW_MAX = config.float("CLOCK_SKEW_MAX", default=10.0)
# A queued task younger than this may still be waiting for its on_commit enqueue.
TASK_ENQUEUE_GRACE = config.int("TASK_ENQUEUE_GRACE", default=30)
# A job's timeout is this base plus its kind's share (an export: posts / rate; an import: its
# size, imports/services.py); generous so only a stuck job hits it.
TASK_TIMEOUT_BASE = config.int("TASK_TIMEOUT_BASE", default=120, formerly="EXPORT_TIMEOUT_BASE")
EXPORT_TIMEOUT_POSTS_PER_SECOND = config.int("EXPORT_TIMEOUT_POSTS_PER_SECOND", default=5000)

# Imports. A larger upload is refused before any of it is read
# (serverpatches/request_limits.py); 256 MB holds about a million posts.
IMPORT_MAX_BYTES = config.int("IMPORT_MAX_BYTES", default=256 * 1024 * 1024)
# Every other request body (forms: posts, log-in, the admin) is refused above this many bytes,
# and a body from which nothing arrives for this many seconds is timed out.
REQUEST_MAX_BYTES = config.int("REQUEST_MAX_BYTES", default=2_621_440)
REQUEST_BODY_TIMEOUT = config.float("REQUEST_BODY_TIMEOUT", default=30)
# The patches to daphne's internals (serverpatches/): off, daphne runs as released.
SERVER_PATCHES = config.bool("SERVER_PATCHES", default=True)
# Where uploads wait for their job: web and worker must both reach it and nothing may serve it.
# Empty means MEDIA_ROOT/private/imports (the shared media volume; see microblog/urls.py).
IMPORT_UPLOAD_DIR = config.str("IMPORT_UPLOAD_DIR", default="")

# A database restart or failover (ops/database_outage.py): a work-horse whose job finds
# the database gone waits this many seconds for it before giving up, and pages answer 503 with
# Retry-After: DATABASE_RETRY_AFTER meanwhile. Keep the wait under 60 s: RQ kills a horse that
# outlives its job's timeout by a minute, and a queued job's wait counts towards that.
DATABASE_WAIT_SECONDS = config.int("DATABASE_WAIT_SECONDS", default=50)
DATABASE_RETRY_AFTER = 5

# Operations (ops/metrics.py, ops/health.py). /metrics answers loopback clients that
# came through no proxy, and anyone presenting "Authorization: Bearer $METRICS_TOKEN".
METRICS_TOKEN = config.str("METRICS_TOKEN", default="")
# /healthz?deep=1: a worker counts as live if it beat within this many seconds, and the disk
# where exports are written must have this much room.
HEALTH_WORKER_MAX_AGE = config.int("HEALTH_WORKER_MAX_AGE", default=60)
HEALTH_MIN_FREE_BYTES = config.int("HEALTH_MIN_FREE_BYTES", default=100 * 1024 * 1024)

# Old names of renamed variables still in use (microblog/config.py), one warning line each at
# start-up (usertasks/apps.py: the renamed variables are the task system's).
DEPRECATED_ENVIRONMENT = config.deprecations
