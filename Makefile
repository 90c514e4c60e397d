# Friday: `make run` starts everything; `make test` runs the whole suite. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: run test lint format bench-data bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install --quiet -c requirements.lock -e .
	@touch $@

$(DEVSTAMP): $(STAMP)
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

run: $(STAMP) node_modules/.package-lock.json
	$(BIN)/friday migrate --verbosity 1
	$(BIN)/friday createadmin --username admin --if-no-admin
	$(BIN)/friday run --no-migrate

test: $(DEVSTAMP) node_modules/.package-lock.json
	$(BIN)/python -m tests.suite $(ARGS)

lint: $(DEVSTAMP)
	$(BIN)/ruff format --check friday tests bench
	$(BIN)/ruff check friday tests bench
	$(BIN)/mypy

format: $(DEVSTAMP)
	$(BIN)/ruff format friday tests bench
	$(BIN)/ruff check --fix friday tests bench

bench-data: $(STAMP)
	$(BIN)/friday bench generate --parties 100000 --activities 1000000

bench: $(STAMP) node_modules/.package-lock.json
	$(BIN)/friday bench run

clean:
	rm -rf $(VENV) node_modules
