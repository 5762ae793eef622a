# Microblog: `make run` serves the site with a worker; `make test` runs the whole suite.
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# Evaluated only when a venv must be created: a Python >= 3.12 (Django 6 needs it).
BOOTSTRAP_PYTHON = $(shell scripts/find-python)

.PHONY: run test test-fast lint messages bench clean

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
# Ctrl-C stops everything and exits 0 (microblog/embedded_redis.py keeps it away from make).
run: $(VENV)/.runtime var/dev.env
	@mkdir -p var
	@$(PY) manage.py migrate --noinput
	@echo "Starting Microblog on http://127.0.0.1:$(PORT) (daphne + RQ worker; Ctrl-C stops everything)"
	@SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)} PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
		$(PY) -m microblog.embedded_redis \
		honcho start --procfile Procfile.dev --env /dev/null --port $(PORT) web worker

# The suite mostly waits on the servers, workers and browsers it starts, so it runs in
# TEST_PROCESSES pytest-xdist processes, each with its own test database, Redis and ports.
TEST_PROCESSES ?= 4

test: $(VENV)/.dev var/dev.env
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist worksteal

# The fast part: no browser, no fault injection.
test-fast: $(VENV)/.dev
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist worksteal -m "not e2e and not fault and not slow"

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

# After changing user-facing texts: update locale/*/LC_MESSAGES/*.po (needs GNU gettext), translate
# the new entries, then run it again to compile the .mo files; commit both. microblog/tests/
# test_translations.py fails while a catalog is stale (the ignore list below is repeated there).
MESSAGES_IGNORE := --ignore=static/vendor --ignore=microblog/testing/vendor --ignore=var \
	--ignore=media --ignore=bench --ignore=node_modules
MANAGE := DEBUG=$${DEBUG:-true} $(PY) manage.py
messages: $(VENV)/.dev
	$(MANAGE) makemessages --locale=es --add-location=file --no-obsolete $(MESSAGES_IGNORE)
	$(MANAGE) makemessages --domain=djangojs --locale=es --add-location=file --no-obsolete \
		$(MESSAGES_IGNORE)
	$(MANAGE) compilemessages --locale=es --ignore=.venv --ignore=node_modules

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
