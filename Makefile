# Two commands: `make sandbox` (demo site + cluster) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# Opt-in pytest-xdist workers (PYTEST_WORKERS=auto: one per core; a module's tests stay on
# one worker). Off by default: docs/testing.md says what still breaks with it.
PYTEST_WORKERS ?=
XDIST := $(if $(PYTEST_WORKERS),-n $(PYTEST_WORKERS) --dist loadscope,)

.PHONY: install test test-fast test-oscar test-existing-site lint sandbox sandbox-setup migrations clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -e ".[test,dev]"

# The README's test command. FLOWS_TEST_DB=postgres FLOWS_TEST_BROKER=redis for PostgreSQL+Redis.
# pytest-randomly shuffles the test order and prints its seed; replay one order with
# PYTEST_ARGS="--randomly-seed=N" (or "-p no:randomly" for file order).
test: lint
	$(BIN)/python -W error::DeprecationWarning -m pytest $(XDIST) $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest $(XDIST) -m "not cluster and not browser" $(PYTEST_ARGS)

# django-oscar's real signals through wagtail_flows.contrib.oscar (docs/testing.md), in a venv
# of its own so oscar's dependency tree stays out of $(VENV).
OSCAR_VENV ?= .venv-oscar
test-oscar:
	test -x $(OSCAR_VENV)/bin/python || $(PYTHON) -m venv $(OSCAR_VENV)
	$(OSCAR_VENV)/bin/pip install -q -e ".[test,oscar]"
	DJANGO_SETTINGS_MODULE=tests.oscar_site.settings \
		$(OSCAR_VENV)/bin/python -m pytest -m oscar tests/oscar_site $(PYTEST_ARGS)

# An existing Wagtail site (its own apps, no django.contrib.admin) that gets the plugin by the
# README's own snippets, then drives a flow to a sent email (tests/existing_site/).
test-existing-site: install
	DJANGO_SETTINGS_MODULE=tests.existing_site.settings \
		$(BIN)/python -W error::DeprecationWarning -m pytest tests/existing_site $(PYTEST_ARGS)

# ruff, then import-linter's contracts (setup.cfg [importlinter]: imports run one way).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

sandbox-setup: install
	cd sandbox && ../$(BIN)/python manage.py migrate --noinput
	cd sandbox && ../$(BIN)/python manage.py load_demo

sandbox: sandbox-setup
	cd sandbox && ../$(BIN)/python manage.py run_sandbox

migrations: install
	PATH="$(abspath $(BIN)):$$PATH" scripts/makemigrations.sh

# Every benchmark script, one after the other (docs/performance.md): 20-30 minutes.
# BENCH_ARGS=--postgres runs them on PostgreSQL + Redis; clusters.py always does.
BENCH_ARGS ?=
bench: install
	for script in capture emails engine_steps latency engine; do \
		$(BIN)/python benchmarks/$$script.py $(BENCH_ARGS) || exit 1; \
	done
	$(BIN)/python benchmarks/clusters.py

clean:
	rm -rf $(VENV) build dist *.egg-info sandbox/db.sqlite3* sandbox/media
