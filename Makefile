# Microblog: `make run` serves the site with a worker; `make test` runs the whole suite.
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# Evaluated only when a venv must be created: a Python >= 3.12 (Django 6 needs it).
BOOTSTRAP_PYTHON = $(shell scripts/find-python)

.PHONY: run test test-fast test-image lint messages bench clean

$(PY):
	@python=$$(scripts/find-python) || exit 1; echo "Creating $(VENV) with $$python"; "$$python" -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) scripts/write-dev-env var/dev.env

$(VENV)/.runtime: requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime

# The development configuration (DEBUG on, a generated SECRET_KEY), written once with the venv
# (whichever target creates it) and again if deleted; settings.py reads it, so every manage.py
# command works in this checkout as the README shows it. The test session ignores it.
var/dev.env: | $(PY)
	@$(PY) scripts/write-dev-env $@

# Procfile.dev restarts a process that dies (honcho alone would stop them all); `--env
# /dev/null`: settings.py reads var/dev.env itself. Links in e-mails follow PORT unless SITE_URL
# is set.
# Ctrl-C stops everything and exits 0 (devtools/embedded_redis.py keeps it away from make).
run: $(VENV)/.runtime var/dev.env
	@mkdir -p var
	@$(PY) manage.py migrate --noinput
	@echo "Starting Microblog on http://127.0.0.1:$(PORT) (daphne + RQ worker; Ctrl-C stops everything)"
	@SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)} PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
		$(PY) -m devtools.embedded_redis \
		honcho start --procfile Procfile.dev --env /dev/null --port $(PORT) web worker

# The suite waits on the servers, workers and browsers it starts, so it runs in TEST_PROCESSES
# pytest-xdist processes, each with its own test database, Redis and ports. On 2 cores, with
# PostgreSQL, 4 did best (3:37, 408 s of CPU) against 3 (3:43, a core idle a fifth of the time)
# and 6 (3:51, 464 s of CPU: each process collects the suite and runs its own servers)
# (bench/RESULTS.md §10).
TEST_PROCESSES ?= 4

# The image tests are `make test-image`'s.
test: $(VENV)/.dev var/dev.env
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist worksteal -m "not image"

# The fast part: no browser, no fault injection.
test-fast: $(VENV)/.dev
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist worksteal \
		-m "not e2e and not fault and not slow and not image"

# The Docker image, built from the Dockerfile and run (tests marked `image`): needs root. Starts
# a Docker engine (dockerd, vfs storage) if none answers and stops it after; removes the test's
# containers, even when interrupted (dockerd runs in a session of its own, so that Ctrl-C reaches
# only the tests). Where no registry answers, the base image is a stand-in
# built once with debootstrap (scripts/docker-stand-in-base: test-only). The base and the built
# image stay, so the next run reuses their layers: ~4 minutes from nothing, ~1.5 after.
IMAGE_BASE := python:3.13-slim
IMAGE_LABEL := microblog.image-test
test-image: SHELL := /bin/bash
test-image: $(VENV)/.dev
	@command -v dockerd >/dev/null || { echo "Installing docker.io with apt"; apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null; }
	@set -uo pipefail; started=; log=$$(mktemp /tmp/microblog-dockerd.XXXXXX); \
	cleanup() { \
		docker ps -aq --filter label=$(IMAGE_LABEL) | xargs -r docker rm -f >/dev/null 2>&1; \
		docker network ls -q --filter label=$(IMAGE_LABEL) | xargs -r docker network rm \
			>/dev/null 2>&1; \
		if [ -n "$$started" ]; then echo "Stopping dockerd ($$started)"; kill "$$started"; \
			wait "$$started"; fi; \
		rm -f "$$log"; \
	}; \
	trap 'status=$$?; cleanup; exit $$status' EXIT; trap 'exit 130' INT TERM; \
	if ! timeout 20 docker info >/dev/null 2>&1; then \
		echo "Starting dockerd (vfs storage)"; \
		setsid dockerd --storage-driver=vfs >"$$log" 2>&1 & started=$$!; \
		for _ in $$(seq 60); do timeout 5 docker info >/dev/null 2>&1 && break; sleep 1; done; \
		timeout 5 docker info >/dev/null 2>&1 || { echo "dockerd did not start:"; tail -n 20 "$$log"; \
			exit 1; }; \
	fi; \
	docker image inspect $(IMAGE_BASE) >/dev/null 2>&1 || timeout --foreground 600 docker pull $(IMAGE_BASE) || { \
		echo "No registry answers: building a stand-in for $(IMAGE_BASE)"; \
		command -v debootstrap >/dev/null || { echo "Installing debootstrap with apt"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			debootstrap >/dev/null; } && timeout --foreground 1800 scripts/docker-stand-in-base $(IMAGE_BASE); \
	} || exit 1; \
	timeout --foreground 3600 $(PY) -m pytest -m image

# Every figure of bench/RESULTS.md (takes ~20 minutes; uses the local PostgreSQL if it answers):
# the scripts write bench/results/*.json, then bench/report.py writes the figures table from them.
bench: $(VENV)/.dev
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || \
		{ apt-get update -qq && apt-get install -y -qq nginx >/dev/null; }
	$(PY) bench/run.py
	$(PY) bench/report.py

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# After changing user-facing texts: update locale/*/LC_MESSAGES/*.po (needs GNU gettext), translate
# the new entries, then run it again to compile the .mo files; commit both. microblog/tests/
# test_translations.py fails while a catalog is stale (the ignore list below is repeated there).
MESSAGES_IGNORE := --ignore=static/vendor --ignore=testkit/vendor --ignore=var \
	--ignore=media --ignore=bench --ignore=node_modules
MANAGE := DEBUG=$${DEBUG:-true} $(PY) manage.py
messages: $(VENV)/.dev
	$(MANAGE) makemessages --locale=es --add-location=file --no-obsolete $(MESSAGES_IGNORE)
	$(MANAGE) makemessages --domain=djangojs --locale=es --add-location=file --no-obsolete \
		$(MESSAGES_IGNORE)
	$(MANAGE) compilemessages --locale=es --ignore=.venv --ignore=node_modules

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
