# Two commands matter: `make demo` and `make test`.  Both set up what they need first.
# `make help` lists the targets and the variables below (each documented after its `##`).
PYTHON ?= python3## the interpreter that makes .venv (3.11 or newer)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser tests (tests/browser) drive Debian's Chromium through Playwright; never a browser
# build of Playwright's own (`playwright install` downloads one).  Installed once, when absent.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test## PostgreSQL for test-postgres: a server and a database to connect to first
TEST_DB_PREFIX ?= loyalty_test## names of the PostgreSQL databases the tests create (PREFIX_WORKER_PID)
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15## Redis database for the tests (give each checkout its own)
TEST_STACK_REDIS_URL ?= redis://127.0.0.1:6379/13## Redis database for the production-stack test, flushed by it (one per checkout)
PYTEST_WORKERS ?= 2## parallel test processes (pytest-xdist)
BENCH ?=## one benchmark for `make bench`: checkout, agent, imports, issuing or campaigns (empty: all)

# What every test run is handed, so two checkouts on one machine never share a database.
TEST_ENV := LOYALTY_TEST_DB_PREFIX=$(TEST_DB_PREFIX) LOYALTY_TEST_REDIS_URL=$(TEST_REDIS_URL) \
	LOYALTY_TEST_STACK_REDIS_URL=$(TEST_STACK_REDIS_URL)

.PHONY: demo test test-sqlite test-postgres lint bench clean help

help: ## list the targets and the variables a user may set
	@echo "Targets:"
	@awk -F ':.*## ' '/^[a-z-]+:.*## / {printf "  make %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo ""
	@echo "Variables (make test PYTEST_WORKERS=4 TEST_REDIS_URL=redis://127.0.0.1:6379/9):"
	@awk -F ' *[?]= *|## *' '/^[A-Z_]+ *[?]=.*##/ {printf "  %-21s %s\n  %-21s default: %s\n", $$1, $$3, "", ($$2 == "" ? "(empty)" : $$2)}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium

demo: $(STAMP) ## set up, seed the demo chain and serve it on http://127.0.0.1:5000 (Ctrl-C stops)
	$(BIN)/loyalty db upgrade
	$(BIN)/loyalty demo seed
	$(BIN)/loyalty demo serve

test: $(STAMP) $(CHROMIUM) test-sqlite test-postgres ## set up and run the tests on SQLite, then on PostgreSQL

# The browser tests run in a step of their own: Chromium beside the rest of the suite starved
# its timing-bound tests (a till's kill rounds, Ctrl-C of the demo server) on two cores.
test-sqlite: $(STAMP) $(CHROMIUM) ## the tests on SQLite only
	$(TEST_ENV) $(BIN)/pytest -n $(PYTEST_WORKERS) tests --ignore=tests/bench --ignore=tests/browser
	$(TEST_ENV) $(BIN)/pytest -n $(PYTEST_WORKERS) tests/browser

test-postgres: $(STAMP) $(CHROMIUM) ## the tests on PostgreSQL only (PG_TEST_URL)
	$(TEST_ENV) LOYALTY_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -n $(PYTEST_WORKERS) tests --ignore=tests/bench --ignore=tests/browser -m "not sqlite_only"
	$(TEST_ENV) LOYALTY_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -n $(PYTEST_WORKERS) tests/browser -m "not sqlite_only"

lint: $(STAMP) ## ruff and the import-linter contracts
	$(BIN)/ruff check loyalty pos_agent web tests
	$(BIN)/lint-imports

bench: $(STAMP) ## benchmarks against the production stack on PostgreSQL (BENCH)
	$(BIN)/python -m tests.bench $(BENCH)

clean: ## remove .venv, instance/ (the demo's data and keys), pytest's cache and screenshots/
	rm -rf $(VENV) instance .pytest_cache screenshots
