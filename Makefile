# Developer entry points: `make run`, `make test`, `make lint`, `make fmt`, `make bench`,
# `make test-reliability`.

VENV    := .venv
PYTHON  := $(VENV)/bin/python
STAMP   := $(VENV)/.installed

.PHONY: venv install run test lint fmt bench bench-quick test-reliability test-reliability-quick

venv install: $(STAMP)

$(PYTHON):
	python3 -m venv $(VENV)

# Reinstall only when the dependencies may have changed, so repeated `make test` is fast.
$(STAMP): pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/milestones db upgrade
	$(VENV)/bin/milestones serve

test: $(STAMP)
	$(PYTHON) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The reliability checks of issue 7 (tests/reliability; sizes in tests/reliability/sizes.py):
# quick = checks 1–6 at bounded sizes (CI, ~3 min), long = all ten at the issue's sizes (~40 min).
test-reliability-quick: $(STAMP)
	$(PYTHON) -m pytest -q tests/reliability --reliability=ci

test-reliability: $(STAMP)
	$(PYTHON) -m pytest -q tests/reliability --reliability=long

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Benchmarks against raw PostgreSQL baselines of the same run (see bench/): full ≤ 10 min,
# quick ≤ 3 min. CI passes BENCH_QUICK_FLAGS=--smoke to shrink the sizes further.
BENCH_QUICK_FLAGS ?= --quick

bench: $(STAMP)
	$(PYTHON) -m bench

bench-quick: $(STAMP)
	$(PYTHON) -m bench $(BENCH_QUICK_FLAGS)
