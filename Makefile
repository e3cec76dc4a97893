# hubapps: two commands for a newcomer.
#   make demo   create the environment, install everything, start a local JupyterHub with example apps
#   make test   install everything the tests need (system packages included) and run the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STATE ?= .state
PYTEST_ARGS ?=
# Each stage of `make test` has a time limit of its own (seconds), so a hung step fails CI instead of
# eating its budget; pytest prints the 30 slowest tests of every run.
STAGE_TIMEOUT := timeout --kill-after=30
PYTEST_CI := --durations=30

.PHONY: demo test install system-deps lint unit integration browser benchmark docs clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	$(PIP) install --quiet --progress-bar off -e '.[hub,frameworks,test,dev]' 2>&1 | grep -v '^WARNING: Location' || true
	$(PY) -c 'import hubapps, streamlit, panel, gradio, dash, voila, jupyterhub_idle_culler'
	@# Looked up, not imported: importing chainlit writes .chainlit/ and .files/ into the current folder.
	$(PY) -c 'import importlib.util as u; m = [n for n in ("shiny", "marimo", "solara", "nicegui", "chainlit") if not u.find_spec(n)]; assert not m, m'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

# Debian's packages: Chromium for the browser tests (Playwright's own browser download does not work offline),
# R and its shiny package for the R Shiny framework. Skipped when every one is installed already.
SYSTEM_PACKAGES := chromium r-base r-cran-shiny
system-deps:
	@missing="$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null | grep -q '^ii' || echo $$p; done)"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "missing Debian packages: run 'sudo apt-get install -y" $$missing"'"; exit 1; fi; \
	fi

demo: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m hubapps.cli demo --state $(STATE)/demo --chp $(CURDIR)/node_modules/.bin/configurable-http-proxy

lint: $(VENV)/.installed
	$(STAGE_TIMEOUT) 300 $(VENV)/bin/ruff check .
	$(STAGE_TIMEOUT) 300 $(VENV)/bin/ruff format --check .
	$(STAGE_TIMEOUT) 600 $(VENV)/bin/mypy

unit: $(VENV)/.installed
	$(VENV)/bin/pytest tests/unit -q $(PYTEST_ARGS)

integration: install system-deps
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/pytest tests/integration -q $(PYTEST_ARGS)

# The browser tests run in a pytest process of their own: Playwright's sync API and pytest-asyncio
# each want the thread's event loop, and each suite starts its own Hub.
test: install system-deps lint
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(STAGE_TIMEOUT) 2400 $(VENV)/bin/pytest tests/unit tests/integration -q $(PYTEST_CI) $(PYTEST_ARGS)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(STAGE_TIMEOUT) 900 $(VENV)/bin/pytest tests/browser -q $(PYTEST_CI) $(PYTEST_ARGS)

browser: install system-deps
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/pytest tests/browser -q $(PYTEST_ARGS)

docs: $(VENV)/.installed
	$(PY) -m hubapps.cli config-reference > docs/configuration.md

clean:
	rm -rf $(STATE) .pytest_cache .mypy_cache .ruff_cache

# Benchmarks are not part of `make test`: they measure, they do not pass or fail. Results: docs/benchmarks.md.
benchmark: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/proxy_bench.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/service_bench.py
	$(PY) benchmarks/metrics_bench.py
