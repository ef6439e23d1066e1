# Reachable: `make demo` to try it, `make test` to test it. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CHILDREN ?= 5000
PORT ?= 8000

.PHONY: setup demo test lint serve migrate clean

setup: $(VENV)/.installed node_modules/.installed migrate ## install everything, migrate

$(VENV)/.installed: requirements/lock.txt requirements/build.txt pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/build.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/lock.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

migrate: $(VENV)/.installed
	mkdir -p var
	$(BIN)/reachable migrate --verbosity 0

demo: setup ## set up, generate a synthetic borough, print logins, serve on :8000
	$(BIN)/reachable demo --children $(CHILDREN)
	$(BIN)/reachable runserver 127.0.0.1:$(PORT)

serve: setup
	$(BIN)/reachable runserver 127.0.0.1:$(PORT)

test: $(VENV)/.installed node_modules/.installed ## the whole test suite
	$(BIN)/pytest

lint: $(VENV)/.installed ## ruff, mypy, import-linter contracts, deploy checks
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports
	DJANGO_SETTINGS_MODULE=reachable.settings.production DJANGO_SECRET_KEY=$$(openssl rand -hex 40) \
	  DJANGO_ALLOWED_HOSTS=reachable.example.org $(BIN)/reachable check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) node_modules var
