# hubapps: two commands for a newcomer.
#   make demo   create the environment, install everything, start a local JupyterHub with example apps
#   make test   install everything the tests need (system packages included) and run the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# The second, small environment of the Hub-facing integration tests: JupyterHub 5.5 with hubapps[hub,test]
# from this checkout (no framework packages; those tests run echo apps from tests/resources).
VENV_JH55 := .venv-jh55
PY_JH55 := $(VENV_JH55)/bin/python
# Its tests: those marked hub_facing, from the modules that have some (the others are not even imported:
# they may import framework packages at the top, which that environment does not have).
HUB_FACING := $(shell grep -l 'mark\.hub_facing' tests/integration/test_*.py)
# Upstream JHub Apps on JupyterHub 5.5, only to write a Hub database the way upstream does (the
# migration tests move it to hubapps). Its own environment: upstream pulls in conda-project, hatch, ...
VENV_UPSTREAM := .venv-upstream
PY_UPSTREAM := $(VENV_UPSTREAM)/bin/python
UPSTREAM_PINS := 'jhub-apps==2026.9.1' 'jupyterhub>=5.5.1,<5.6'
# JupyterHub's own spawner and named-server tests, run with the hubapps mixin (tests/jhtests/): the same
# JupyterHub as .venv, with its own test pins (its `test` extra), and hubapps[hub] from this checkout.
VENV_JHTESTS := .venv-jhtests
PY_JHTESTS := $(VENV_JHTESTS)/bin/python
JHTESTS := test_spawner.py test_named_servers.py
JHTESTS_RUN = cd tests/jhtests && PATH="$(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV_JHTESTS)/bin:$$PATH" \
	$(STAGE_TIMEOUT) 900 $(CURDIR)/$(PY_JHTESTS) -m pytest -c pytest.ini -q --color=no \
	$(addprefix $$($(CURDIR)/$(PY_JHTESTS) -c 'import jupyterhub.tests, os; print(os.path.dirname(jupyterhub.tests.__file__))')/,$(JHTESTS))
STATE ?= .state
PYTEST_ARGS ?=
# Each stage of `make test` has a time limit of its own (seconds), so a hung step fails CI instead of
# eating its budget; pytest prints the 30 slowest tests of every run.
STAGE_TIMEOUT := timeout --kill-after=30
PYTEST_CI := --durations=30

.PHONY: demo test install install-jh55 install-jhtests jhtests install-upstream migration system-deps lint unit integration integration-jh55 browser benchmark docs clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	$(PIP) install --quiet --progress-bar off -e '.[hub,frameworks,test,dev]' 2>&1 | grep -v '^WARNING: Location' || true
	$(PY) -c 'import hubapps, streamlit, panel, gradio, dash, voila, jupyterhub_idle_culler'
	@# Looked up, not imported: importing chainlit writes .chainlit/ and .files/ into the current folder.
	$(PY) -c 'import importlib.util as u; m = [n for n in ("shiny", "marimo", "solara", "nicegui", "chainlit") if not u.find_spec(n)]; assert not m, m'
	touch $@

# JupyterHub 5.5.x only: `make test` runs the tests marked hub_facing under it too (see `integration-jh55`).
$(VENV_JH55)/.installed: pyproject.toml
	test -x $(PY_JH55) || $(PYTHON) -m venv $(VENV_JH55)
	$(PY_JH55) -m pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	$(PY_JH55) -m pip install --quiet --progress-bar off 'jupyterhub>=5.5.1,<5.6' -e '.[hub,test]' 2>&1 | grep -v '^WARNING: Location' || true
	$(PY_JH55) -c 'import hubapps, jupyterhub; assert jupyterhub.version_info[:2] == (5, 5), jupyterhub.__version__'
	touch $@

install-jh55: $(VENV_JH55)/.installed node_modules/.installed

$(VENV_JHTESTS)/.installed: pyproject.toml $(VENV)/.installed
	test -x $(PY_JHTESTS) || $(PYTHON) -m venv $(VENV_JHTESTS)
	$(PY_JHTESTS) -m pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	$(PY_JHTESTS) -m pip install --quiet --progress-bar off "jupyterhub[test]==$$($(PY) -c 'import jupyterhub; print(jupyterhub.__version__)')" 'pytest-timeout>=2.2' -e '.[hub]' 2>&1 | grep -v '^WARNING: Location' || true
	$(PY_JHTESTS) -c 'import hubapps.hub, jupyterhub.tests.mocking'
	touch $@

install-jhtests: $(VENV_JHTESTS)/.installed node_modules/.installed

$(VENV_UPSTREAM)/.installed: tests/migration/upstream-constraints.txt
	test -x $(PY_UPSTREAM) || $(PYTHON) -m venv $(VENV_UPSTREAM)
	$(PY_UPSTREAM) -m pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	$(PY_UPSTREAM) -m pip install --quiet --progress-bar off -c tests/migration/upstream-constraints.txt $(UPSTREAM_PINS) 2>&1 | grep -v '^WARNING: Location' || true
	$(PY_UPSTREAM) -c 'import jhub_apps.service.models, jupyterhub; assert jupyterhub.version_info[:2] == (5, 5), jupyterhub.__version__'
	touch $@

install-upstream: $(VENV_UPSTREAM)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

# Debian's packages: Chromium for the browser tests (Playwright's own browser download does not work offline),
# R and its shiny package for the R Shiny framework, Slurm and munge for the batch-spawner tests (a one-node
# cluster the tests start themselves: tests/integration/slurm_cluster.py), PostgreSQL for the launcher's
# database on several replicas (the tests start a server of their own). Skipped when every one is installed.
SYSTEM_PACKAGES := chromium r-base r-cran-shiny slurm-wlm munge postgresql
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
# each want the thread's event loop, and each suite starts its own Hub. They run under three Hub URL
# shapes (HUBAPPS_BROWSER_URL_SHAPE, tests/browser/conftest.py): base_url "/", "/jhub/", subdomain_host.
test: install install-jh55 install-jhtests install-upstream system-deps lint
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(STAGE_TIMEOUT) 2400 $(VENV)/bin/pytest tests/unit tests/integration -q $(PYTEST_CI) $(PYTEST_ARGS)
	$(JHTESTS_RUN) $(PYTEST_CI) $(PYTEST_ARGS)
	PATH="$(CURDIR)/$(VENV_JH55)/bin:$$PATH" $(STAGE_TIMEOUT) 600 $(VENV_JH55)/bin/pytest $(HUB_FACING) -m hub_facing -q $(PYTEST_CI) $(PYTEST_ARGS)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(STAGE_TIMEOUT) 420 $(VENV)/bin/pytest tests/migration -q $(PYTEST_CI) $(PYTEST_ARGS)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(STAGE_TIMEOUT) 900 $(VENV)/bin/pytest tests/browser -q $(PYTEST_CI) $(PYTEST_ARGS)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" HUBAPPS_BROWSER_URL_SHAPE=base_url $(STAGE_TIMEOUT) 900 $(VENV)/bin/pytest tests/browser -q $(PYTEST_CI) $(PYTEST_ARGS)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" HUBAPPS_BROWSER_URL_SHAPE=subdomain $(STAGE_TIMEOUT) 900 $(VENV)/bin/pytest tests/browser -q $(PYTEST_CI) $(PYTEST_ARGS)

# The Hub-facing integration tests again, on JupyterHub 5.5.x.
integration-jh55: install-jh55
	PATH="$(CURDIR)/$(VENV_JH55)/bin:$$PATH" $(VENV_JH55)/bin/pytest $(HUB_FACING) -m hub_facing -q $(PYTEST_ARGS)

# JupyterHub's own spawner and named-server tests, every spawner wrapped by the hubapps mixin (tests/jhtests/).
jhtests: install-jhtests
	$(JHTESTS_RUN) $(PYTEST_ARGS)

# An upstream JHub Apps database moved to hubapps on JupyterHub 5.5, then 6 (docs/migrating.md).
migration: install install-jh55 install-upstream
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/pytest tests/migration -q $(PYTEST_ARGS)

# `make browser URL_SHAPE=subdomain` (or base_url) runs it under another Hub URL shape.
URL_SHAPE ?= root
browser: install system-deps
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" HUBAPPS_BROWSER_URL_SHAPE=$(URL_SHAPE) $(VENV)/bin/pytest tests/browser -q $(PYTEST_ARGS)

docs: $(VENV)/.installed
	$(PY) -m hubapps.cli config-reference > docs/configuration.md

clean:
	rm -rf $(STATE) .pytest_cache .mypy_cache .ruff_cache

# Benchmarks are not part of `make test`: they measure, they do not pass or fail. Results: docs/benchmarks.md.
benchmark: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/proxy_bench.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/service_bench.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/scale_bench.py
	$(PY) benchmarks/metrics_bench.py
