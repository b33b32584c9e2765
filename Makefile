# Two commands do all the set-up on a fresh machine:
#   make run   — install, migrate, load demo data, serve http://127.0.0.1:8000 with a Celery worker
#                (the demo: DEBUG off, generated keys; PORT=8100 for another port; Ctrl-C stops everything)
#   make test  — install what the tests need (Chromium included) and run lint and the whole suite
# make dev is make run with DEBUG on (Django's debug pages, code reloading).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Japanese fonts and DejaVu Sans Mono (values on cards) for PDFs, embedded; WeasyPrint's Pango; poppler for
# reading PDFs back in tests.
APT_RUNTIME := fonts-ipaexfont fonts-noto-cjk fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 poppler-utils
APT_TEST := chromium postgresql-client libreoffice-calc-nogui
# (postgresql-client: pg_dump and psql, for manage.py backup / restore and their test on PostgreSQL;
# libreoffice-calc-nogui: the call-list exports opened as a spreadsheet program opens them)
# make prod-smoke: the production stack (nginx in front of gunicorn; pg_dump and psql for its backup step);
# PostgreSQL and Redis are expected to run.
APT_PROD_SMOKE := nginx postgresql-client
DEMO_MEMBERS ?= 500
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run dev test deps system-deps test-system-deps prod-smoke-system-deps prod-smoke lint migrate-check worker clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.deps-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

deps: $(VENV)/.deps-installed

define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages: $$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

system-deps:
	$(call apt_install,$(APT_RUNTIME))

test-system-deps:
	$(call apt_install,$(APT_TEST))

prod-smoke-system-deps:
	$(call apt_install,$(APT_PROD_SMOKE))

# efnet/launch.py starts the web server, the worker and beat and stops them together: on Ctrl-C, on
# TERM, and when make itself is killed. exec: the launcher is make's own child, so it sees make go.
run dev: KEYS = $(if $(filter dev,$@),DEBUG=1,EFNET_DEMO=1)
run dev: MODE = $(KEYS) PORT=$(PORT)
run dev: deps system-deps
	$(MODE) $(BIN)/python manage.py migrate --noinput
	$(MODE) $(BIN)/python manage.py seed_demo --if-empty --members $(DEMO_MEMBERS)
	@echo "http://127.0.0.1:$(PORT)/ — ログイン: ユーザー osaka（または admin, honsha …）/ パスワード demo-efnet-2026"
	@echo "確認コード: $(KEYS) $(BIN)/python manage.py totp_code osaka"
	@$(MODE) exec $(BIN)/python -m efnet.launch --port $(PORT) $(if $(filter dev,$@),--reload)

# Threads pool: the tasks wait on SMTP and the database, and batch PDFs render on the worker's own render
# processes (efnet/pdf_pool.py), which a prefork child, being a daemon, could not start. Beat runs beside it
# as a process of its own (never -B: a killed worker's beat child lived on beside the restarted one's), and
# sends the periodic tasks only while it holds the scheduler lock in the database (efnet/beat.py), so a beat
# on each worker machine is safe: one schedules, the others stand by. The launcher stops both together.
worker: deps
	exec $(BIN)/python -m efnet.launch --no-web --concurrency 4 --log-level info

lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

migrate-check: deps
	DJANGO_SETTINGS_MODULE=efnet.test_settings $(BIN)/python manage.py makemigrations --check --dry-run

test: deps system-deps test-system-deps lint migrate-check
	$(BIN)/pytest $(PYTEST_ARGS)

# The production stack from deploy/ (nginx with TLS, gunicorn on a unix socket, Celery worker and beat apart),
# on PostgreSQL 127.0.0.1:5432 (user postgres) and Redis 127.0.0.1:6379 db 14, driven through HTTPS
# (deploy/smoke.py). SMOKE_ARGS="--keep" keeps its folder (configuration, logs).
SMOKE_ARGS ?=
prod-smoke: deps system-deps prod-smoke-system-deps
	$(BIN)/python deploy/smoke.py $(SMOKE_ARGS)

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
