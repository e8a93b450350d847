# Two commands matter: `make demo` and `make test`.  Both set up what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_WORKERS ?= 2

.PHONY: demo test test-sqlite test-postgres lint bench clean help

help:
	@echo "make demo   - set up, seed the demo chain and serve on http://127.0.0.1:5000"
	@echo "make test   - set up and run the tests on SQLite and on PostgreSQL"
	@echo "make lint   - ruff and the import-linter contract"
	@echo "make bench  - benchmarks (production stack on PostgreSQL)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/loyalty db upgrade
	$(BIN)/loyalty demo seed
	$(BIN)/loyalty demo serve

test: $(STAMP) test-sqlite test-postgres

test-sqlite: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) tests --ignore=tests/bench

test-postgres: $(STAMP)
	LOYALTY_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -n $(PYTEST_WORKERS) tests --ignore=tests/bench -m "not sqlite_only"

lint: $(STAMP)
	$(BIN)/ruff check loyalty pos_agent web tests
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m tests.bench $(BENCH)

clean:
	rm -rf $(VENV) instance .pytest_cache
