# Two commands for a fresh machine: `make run` and `make test`. Both call `make setup` first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PYTEST_WORKERS ?= 2

.PHONY: setup run test lint unit lock bench clean

setup: $(STAMP) $(NODE_STAMP)

# The venv is rebuilt only when the lock or the project metadata changes.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

# Azurite (blob service of the local edge), pinned by package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: setup
	$(BIN)/central up --template deployment.template.json --platform amd64

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint --config .hadolint.yaml modules/*/Dockerfile.*
	$(BIN)/shellcheck infra/*.sh .ci/run tests/fixtures/bin/*

unit: setup
	$(BIN)/pytest -m "not slow" -q

test: setup lint
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -n $(PYTEST_WORKERS) -q

bench: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench

# Regenerate the lock from requirements.in in a scratch venv.
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install --quiet -r requirements.in
	.lockvenv/bin/pip freeze --exclude-editable | grep -v '^central-edge' > requirements.lock
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
