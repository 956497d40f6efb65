# Dissensus developer commands. Every tool runs from .venv explicitly; no activated venv needed.
#
#   make install   create .venv and install the project with its dev extras (skipped when current)
#   make install-app  the same without the dev extras: only what the app needs to run
#   make demo      local demo: SQLite + embedded broker unless DATABASE_URL / CELERY_BROKER_URL set
#                  (installs only what the app needs; bin/manage runs manage.py in its environment)
#   make test      the whole suite on PostgreSQL (DATABASE_URL, PYTEST_ARGS="-k foo -x" to narrow)
#   make check     ruff lint, ruff format check, mypy, import-linter (the one-way layers)

SHELL := /bin/bash

VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
# The interpreter that creates .venv: python3.11 where present, else python3.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)

# The stamp's name carries a hash of pyproject.toml, so a change in dependencies reinstalls and an
# unchanged one is a no-op. A recreated .venv (new pyvenv.cfg) also reinstalls.
PYPROJECT_HASH := $(shell sha256sum pyproject.toml | cut -c1-16)
INSTALL_STAMP := var/.installed-$(PYPROJECT_HASH)
APP_STAMP := var/.installed-app-$(PYPROJECT_HASH)

PORT ?= 8000
PYTEST_ARGS ?=
MYPY_TARGETS ?= config core stats annotate analysis models_runtime

.PHONY: install install-app demo test check

install: $(INSTALL_STAMP)

install-app: $(APP_STAMP)

$(VENV)/pyvenv.cfg:
	$(PYTHON) -m venv $(VENV)

$(INSTALL_STAMP): $(VENV)/pyvenv.cfg
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@mkdir -p var
	@rm -f var/.installed-*
	@touch $@ $(APP_STAMP)

# The app alone (no test, lint or benchmark tools): what `make demo` needs. A dev install counts.
$(APP_STAMP): $(VENV)/pyvenv.cfg
	@if [ -f $(INSTALL_STAMP) ]; then touch $@; else \
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -e . && \
	mkdir -p var && rm -f var/.installed-app-* && touch $@; fi

demo: install-app
	PORT="$(PORT)" bin/demo

# pytest-django creates (and drops) the test database test_<name> itself.
# Exit status 5 means pytest collected no tests: a failure here, said out loud.
test: install
	$(VENV_PYTHON) bin/check-postgres
	@rc=0; $(VENV)/bin/pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; treating that as a failure." >&2; fi; \
	exit $$rc

check: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(MYPY_TARGETS)
	$(VENV)/bin/lint-imports --config .importlinter

# bench: benchmark targets (bench-*) go here, one per script under bench/, each printing its figures.
# Each creates and drops its own database (dissensus_bench); BENCH_ARGS passes extra options,
# e.g. make bench-next-submit BENCH_ARGS="--duration 10".
BENCH_ARGS ?=

.PHONY: bench-next-submit bench-next-submit-workers bench-next-submit-1m bench-import bench-export

bench-next-submit: install
	$(VENV_PYTHON) bench/next_submit.py --items 10000 $(BENCH_ARGS)

# Both gunicorn worker classes one after the other (throughput, latency, fairness, pgbench ratio).
bench-next-submit-workers: install
	$(VENV_PYTHON) bench/next_submit.py --items 10000 --worker-class sync $(BENCH_ARGS)
	$(VENV_PYTHON) bench/next_submit.py --items 10000 --worker-class gthread $(BENCH_ARGS)

bench-next-submit-1m: install
	$(VENV_PYTHON) bench/next_submit.py --items 1000000 $(BENCH_ARGS)

bench-import: install
	$(VENV_PYTHON) bench/import_items.py --items 100000 $(BENCH_ARGS)

bench-export: install
	$(VENV_PYTHON) bench/export.py --annotations 1000000 $(BENCH_ARGS)

.PHONY: bench-model-inference
bench-model-inference: install
	$(VENV_PYTHON) bench/model_inference.py $(BENCH_ARGS)

.PHONY: bench-agreement
bench-agreement: install
	$(VENV_PYTHON) bench/agreement.py --items 100000 --annotators 4 $(BENCH_ARGS)
