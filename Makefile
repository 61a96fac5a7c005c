# The two commands: `make run` (try it out: SQLite, in-memory layer, development IdP) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
# With JITSI_ROOM_API_URL (Prosody's mod_muc_size), `make run` reconciles live counts this often (seconds).
RECONCILE_INTERVAL ?= 300

# Development values; a real deployment sets its own environment (see .env.example).
DEV_ENV := DEBUG=1 SECURE=0 PORTAL_DEV_IDP=1 PUBLIC_URL=http://$(HOST):$(PORT)
TEST_ENV := SECRET_KEY=insecure-test-only-key SECURE=0 STATIC_MANIFEST=0 DEBUG=0 TENANT_SCOPES_STRICT=1
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/auditorium_test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test lint format install clean messages

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py seed_demo
	$(DEV_ENV) $(PY) manage.py seed_demo_rooms
	@# With the embedded SQLite database recording jobs run in the server process (RECORDINGS_JOBS=inline);
	@# with DATABASE_URL (PostgreSQL) the Procrastinate worker runs beside Daphne and stops with it. With
	@# JITSI_ROOM_API_URL the live counts are reconciled with Prosody every RECONCILE_INTERVAL seconds.
	@pids=""; if [ -n "$$DATABASE_URL" ]; then $(DEV_ENV) $(PY) manage.py procrastinate worker & pids="$$pids $$!"; fi; \
	if [ -n "$(JITSI_ROOM_API_URL)" ]; then $(DEV_ENV) $(PY) manage.py reconcile_counts --every $(RECONCILE_INTERVAL) & pids="$$pids $$!"; fi; \
	trap 'for pid in $$pids; do kill $$pid 2>/dev/null; done' EXIT INT TERM; \
	$(DEV_ENV) $(VENV)/bin/daphne -b $(HOST) -p $(PORT) portal.asgi:application

test: $(VENV)/.installed
	$(TEST_ENV) DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=1 $(VENV)/bin/mypy portal tenants meetings

# After adding or changing a user-facing string: extract it into locale/, translate the new entries, then
# run this again to compile and check (make test runs the same check). See locale/README.md.
messages: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py translations update

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .mypy_cache .ruff_cache
