# Two commands for a fresh machine: `make run` and `make test`. Both call `make setup` first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
SYSTEM_STAMP := $(VENV)/.system-packages
# Tools with dependency sets that clash with the project's get their own venvs, each from a lock in tools/:
# checkov (Bicep policy checks) and iotedgedev (the reference genconfig the tests compare against).
TOOLS_VENV := .venv-tools
IOTEDGEDEV_VENV := .venv-iotedgedev
TOOLS_STAMP := $(TOOLS_VENV)/.installed
IOTEDGEDEV_STAMP := $(IOTEDGEDEV_VENV)/.installed
# Debian packages: Chromium drives the dashboard's browser tests, mosquitto is the benchmarks' baseline broker.
# Pinned; Debian's security archive replaces old builds, so when a pin has left the mirror the current build of the
# same package is installed instead, with a warning.
APT_PACKAGES := chromium=156.0.8078.79-1~deb12u1 mosquitto=2.0.11-1.2+deb12u2
PYTEST_WORKERS ?= 2

.PHONY: setup run test lint unit lock bench clean

setup: $(STAMP) $(NODE_STAMP) $(SYSTEM_STAMP) $(TOOLS_STAMP) $(IOTEDGEDEV_STAMP)

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

$(TOOLS_STAMP): tools/checkov.lock
	@test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tools/checkov.lock
	@touch $@

$(IOTEDGEDEV_STAMP): tools/iotedgedev.lock
	@test -x $(IOTEDGEDEV_VENV)/bin/python || $(PYTHON) -m venv $(IOTEDGEDEV_VENV)
	$(IOTEDGEDEV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tools/iotedgedev.lock
	@touch $@

$(SYSTEM_STAMP): $(STAMP)
	@if dpkg -s $(foreach p,$(APT_PACKAGES),$(firstword $(subst =, ,$(p)))) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" != 0 ]; then echo "install as root: apt-get install $(APT_PACKAGES)"; exit 1; \
	else apt-get update -qq && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) \
	  || { echo "warning: pinned Debian packages unavailable, installing current builds"; \
	       DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(foreach p,$(APT_PACKAGES),$(firstword $(subst =, ,$(p)))); }; }; fi
	@touch $@

# The local edge needs only the Python environment and Azurite; the test tools are for `make test`.
run: $(STAMP) $(NODE_STAMP)
	$(BIN)/central up --template deployment.template.json --platform amd64

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint --config .hadolint.yaml modules/*/Dockerfile.*
	$(BIN)/shellcheck infra/*.sh .ci/run tests/fixtures/bin/*
	$(TOOLS_VENV)/bin/checkov -d infra --framework bicep --skip-download --compact --quiet

unit: setup
	$(BIN)/pytest -m "not slow" -q

test: setup lint
	PATH="$(CURDIR)/$(BIN):$$PATH" IOTEDGEDEV="$(CURDIR)/$(IOTEDGEDEV_VENV)/bin/iotedgedev" \
	  $(BIN)/pytest -n $(PYTEST_WORKERS) -q

bench: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench

# Regenerate the lock from requirements.in in a scratch venv.
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install --quiet -r requirements.in
	.lockvenv/bin/pip freeze --exclude-editable | grep -v '^central-edge' > requirements.lock
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) $(TOOLS_VENV) $(IOTEDGEDEV_VENV) node_modules .pytest_cache .ruff_cache
