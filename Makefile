# Two commands: `make sandbox` (demo site + cluster) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install test test-fast lint sandbox sandbox-setup migrations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -e ".[test,dev]"

# The README's test command. FLOWS_TEST_DB=postgres FLOWS_TEST_BROKER=redis for PostgreSQL+Redis.
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -W error::DeprecationWarning -m pytest $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -m "not cluster and not browser" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

sandbox-setup: install
	cd sandbox && ../$(BIN)/python manage.py migrate --noinput
	cd sandbox && ../$(BIN)/python manage.py load_demo

sandbox: sandbox-setup
	cd sandbox && ../$(BIN)/python manage.py run_sandbox

migrations: install
	PATH="$(abspath $(BIN)):$$PATH" scripts/makemigrations.sh

clean:
	rm -rf $(VENV) build dist *.egg-info sandbox/db.sqlite3* sandbox/media
