# Berufswahlpass digital — developer tasks.  `make help` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help
# Targets depend on each other in a fixed order (install -> compile -> db -> seed); never parallel.
.NOTPARALLEL:

VENV     ?= .venv
PY       := $(VENV)/bin/python
PIP      := $(VENV)/bin/pip
FLASK    := $(VENV)/bin/flask
PYBABEL  := $(VENV)/bin/pybabel
RUFF     := $(VENV)/bin/ruff
STAMP    := $(VENV)/.installed
PGSERVER := tests/support/pgserver.py

# Extra arguments, e.g. `make test PYTEST_ARGS='-x -k login'`, `make bench BENCH_ARGS=...`.
PYTEST_ARGS   ?=
# Parallel pytest workers of `make test-quick` (pytest-xdist; 0 = one process).
PYTEST_WORKERS ?= auto
BENCH_ARGS    ?=
LOADTEST_ARGS ?=
export PY PYTEST_ARGS PGSERVER

# Translations: extraction config (the lead may switch this to pyproject.toml) and sources.
BABEL_CFG   ?= pyproject.toml
BABEL_INPUT ?= .
POT         := translations/messages.pot

# System packages (Debian 12) needed by the app and the test suite.
# What `make run` needs (WeasyPrint's libraries, fonts, msgfmt, ICU and a compiler for PyICU) ...
# Fonts: every script and emoji a pupil may type prints (templates/pdf/_fonts.css).
RUN_SYSDEPS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-core \
               fonts-droid-fallback fonts-nanum fonts-noto-cjk fonts-noto-color-emoji \
               fonts-dejavu-core gettext libicu-dev pkg-config g++
# ... and what the tests need on top (database, browser, PDF tools, Redis, load tools).
SYSDEPS := $(RUN_SYSDEPS) postgresql chromium poppler-utils redis-server qpdf wrk

.PHONY: help venv install sysdeps sysdeps-run translations translations-compile db seed run \
        test test-quick e2e-deps bench loadtest lint clean

# help: list the targets
help:
	@echo "make install              venv + pip install -e '.[dev]' (only when pyproject.toml changed)"
	@echo "make sysdeps              apt-get install missing system packages (root on Debian)"
	@echo "make translations         extract + update + compile message catalogs"
	@echo "make translations-compile compile translations/*/LC_MESSAGES/*.po"
	@echo "make db                   flask db upgrade"
	@echo "make seed                 load the demo data (prints the demo logins)"
	@echo "make run                  install, compile, migrate, seed, serve on http://127.0.0.1:5000 (+ a jobs worker)"
	@echo "make test                 lint, then the full suite on SQLite (with browser tests) and on a"
	@echo "                           throwaway PostgreSQL (PYTEST_ARGS=...)"
	@echo "make test-quick           unit tests on SQLite only, in parallel: no browser, no PostgreSQL"
	@echo "                           (day-to-day work; PYTEST_ARGS=..., PYTEST_WORKERS=auto)"
	@echo "make e2e-deps             npm ci in tests/e2e (axe-core for the browser tests) when the lock changed"
	@echo "make bench                benchmarks against a throwaway PostgreSQL (BENCH_ARGS=...)"
	@echo "make loadtest             load test against a throwaway PostgreSQL (LOADTEST_ARGS=...)"
	@echo "make lint                 ruff check and ruff format --check over the repository"
	@echo "make clean                remove instance/ and test/build artefacts (keeps .venv)"

# venv: create the virtualenv if it does not exist yet
venv: $(PY)

$(PY):
	python3 -m venv $(VENV)

# install: (re)install the project + dev extras when pyproject.toml is newer than the stamp
install: $(STAMP)

$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -e '.[dev]'
	@touch $@

# sysdeps-run: only the system packages the app itself needs
sysdeps-run:
	@$(MAKE) --no-print-directory sysdeps SYSDEPS="$(RUN_SYSDEPS)"

# sysdeps: install missing Debian packages (as root); otherwise only report what is missing
sysdeps:
	@if [ ! -f /etc/debian_version ]; then \
	    echo "sysdeps: not a Debian system, skipping the package check (needs: $(SYSDEPS))"; \
	    exit 0; \
	fi; \
	missing=""; \
	for pkg in $(SYSDEPS); do \
	    dpkg -s "$$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then echo "sysdeps: all system packages present"; exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then \
	    echo "sysdeps: missing packages:$$missing"; \
	    echo "sysdeps: not root, continuing; install them with: sudo apt-get install --no-install-recommends$$missing"; \
	    exit 0; \
	fi; \
	echo "sysdeps: installing$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get -o DPkg::Lock::Timeout=600 update && \
	apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends $$missing

# translations: extract messages, merge them into the catalogs, compile
translations: install
	@mkdir -p translations
	$(PYBABEL) extract -F $(BABEL_CFG) -k _l -k lazy_gettext -o $(POT) $(BABEL_INPUT)
	@if ls translations/*/LC_MESSAGES/*.po >/dev/null 2>&1; then \
	    echo "$(PYBABEL) update -i $(POT) -d translations --no-fuzzy-matching"; \
	    $(PYBABEL) update -i $(POT) -d translations --no-fuzzy-matching; \
	else \
	    echo "translations: no catalogs yet; create one with:" \
	         "$(PYBABEL) init -i $(POT) -d translations -l de"; \
	fi
	@$(MAKE) --no-print-directory translations-compile

# translations-compile: compile the .po catalogs to .mo (no-op while there are none)
translations-compile: install
	@if ls translations/*/LC_MESSAGES/*.po >/dev/null 2>&1; then \
	    echo "$(PYBABEL) compile -d translations"; \
	    $(PYBABEL) compile -d translations; \
	else \
	    echo "translations-compile: no .po files under translations/, nothing to compile"; \
	fi

# db: apply the database migrations
db: install
	FLASK_APP=wsgi.py $(FLASK) db upgrade

# seed: load the demo school, classes and users (prints the demo logins)
seed: install
	$(FLASK) --app wsgi seed-demo

# run: everything needed for a local demo, then one jobs worker (embedded SQLite queue in
# instance/) in the background and the development server; the worker stops with the server.
run: sysdeps-run install translations-compile db seed
	@echo "Open http://127.0.0.1:5000"
	@$(FLASK) --app wsgi jobs worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	$(FLASK) --app wsgi run --host 127.0.0.1 --port 5000

# test: lint, then the whole suite on SQLite, then on a throwaway PostgreSQL (stopped even on failure)
test: sysdeps lint install translations-compile e2e-deps
	tests/support/run_suite.sh

# test-quick: the unit suite on SQLite alone, in parallel workers (no browser, no PostgreSQL)
test-quick: install translations-compile
	env -u TEST_DATABASE_URL $(PY) -m pytest -n $(PYTEST_WORKERS) -m "not e2e" --ignore=tests/e2e \
	    $(PYTEST_ARGS)

# e2e-deps: axe-core for the browser tests (tests/e2e/node_modules, git-ignored), from the lock file
E2E_DIR   := tests/e2e
E2E_STAMP := $(E2E_DIR)/node_modules/.installed
e2e-deps: $(E2E_STAMP)

$(E2E_STAMP): $(E2E_DIR)/package.json $(E2E_DIR)/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
	    if [ -f /etc/debian_version ] && [ "$$(id -u)" -eq 0 ]; then \
	        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends npm; \
	    else \
	        echo "e2e-deps: npm is missing; install Node.js with npm (Debian: apt-get install npm)" >&2; exit 1; \
	    fi; \
	fi
	npm ci --prefix $(E2E_DIR) --no-audit --no-fund
	@touch $@

# bench: benchmarks against a throwaway PostgreSQL in BENCH_DATABASE_URL (stopped afterwards)
bench: sysdeps install translations-compile
	$(PY) $(PGSERVER) run --env BENCH_DATABASE_URL -- $(PY) -m tests.benchmarks.run $(BENCH_ARGS)

# loadtest: load test against a throwaway, durable (fsync on) PostgreSQL in LOADTEST_DATABASE_URL
# (stopped afterwards); LOADTEST_ARGS='--scenario parents-evening' for the parents' evening
loadtest: sysdeps install translations-compile
	$(PY) $(PGSERVER) run --durable --env LOADTEST_DATABASE_URL -- $(PY) -m tests.loadtest.run $(LOADTEST_ARGS)

# lint: static checks and formatting (ruff is pinned in pyproject.toml)
lint: install
	$(RUFF) check .
	$(RUFF) format --check .

# clean: remove instance/ (local database, uploads) and test/build artefacts; keeps .venv
clean:
	rm -rf instance .pytest_cache .ruff_cache .hypothesis htmlcov .coverage .coverage.* \
	       test-results playwright-report
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 -r rm -rf
