# make run  — everything on the embedded PostgreSQL and Redis (or DATABASE_URL / REDIS_URL), with a demo
# make test — the whole suite on real PostgreSQL and Redis
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)

.PHONY: run test lint services stop migrate demo bench clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

services: $(STAMP)
	$(PY) -m orbit.embedded up >/dev/null

migrate: services
	$(PY) manage.py migrate_schemas --noinput -v 0
	$(PY) manage.py collectstatic --noinput -v 0

demo: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_chat_demo

run: demo
	$(PY) -m orbit.run

test: services
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .

stop:
	$(PY) -m orbit.embedded down

bench: migrate
	$(PY) bench/provisioning.py

clean: stop
	rm -rf var
