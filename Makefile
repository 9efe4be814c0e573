# Developer entry points: `make run`, `make test`, `make lint`, `make fmt`, `make bench`,
# `make test-reliability`.

VENV    := .venv
PYTHON  := $(VENV)/bin/python
UV      := $(VENV)/bin/uv
# uv installs the locked versions (requirements/*.txt, made by `make lock`) in seconds; pip
# would take minutes. Pinned, so two machines resolve nothing differently.
UV_VERSION := 0.13.9
RUN_STAMP := $(VENV)/.installed-run
STAMP     := $(VENV)/.installed-dev

.PHONY: venv install run test lint fmt lock bench bench-quick bench-scale test-reliability test-reliability-quick

venv install: $(STAMP)

$(PYTHON):
	python3 -m venv $(VENV)

$(UV): | $(PYTHON)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# What running needs, only (`make run`); reinstalled when the lock or the package changes.
$(RUN_STAMP): requirements/run.txt pyproject.toml | $(UV)
	$(UV) pip install --quiet --python $(PYTHON) -r requirements/run.txt
	$(UV) pip install --quiet --python $(PYTHON) --no-deps -e .
	touch $@

# Everything `make test`, `make lint` and the benchmarks need besides.
$(STAMP): requirements/dev.txt $(RUN_STAMP)
	$(UV) pip install --quiet --python $(PYTHON) -r requirements/dev.txt
	touch $@

# The lock: every package and version, resolved from pyproject.toml (run after changing it).
lock: | $(UV)
	$(UV) pip compile --quiet --python-version 3.11 pyproject.toml -o requirements/run.txt
	$(UV) pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements/dev.txt

# With the embedded server `serve` migrates itself; an external database is upgraded first.
run: $(RUN_STAMP)
	@if [ -n "$$DATABASE_URL" ]; then $(VENV)/bin/milestones db upgrade; fi
	$(VENV)/bin/milestones serve

test: $(STAMP)
	$(PYTHON) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The reliability checks of issue 7 (tests/reliability; sizes in tests/reliability/sizes.py):
# quick = checks 1–6 at bounded sizes (CI, ~2–3 min), long = all ten at the issue's sizes (~30–40 min).
test-reliability-quick: $(STAMP)
	$(PYTHON) -m pytest -q tests/reliability --reliability=ci

test-reliability: $(STAMP)
	$(PYTHON) -m pytest -q tests/reliability --reliability=long

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Benchmarks against baselines of the same run (see bench/): full ≤ 12 min on a quiet machine
# (it writes bench/results/latest.json, keeps the run before as previous.json and rewrites the
# README's table), quick ≤ 3 min. CI passes BENCH_QUICK_FLAGS=--smoke to shrink the sizes further.
BENCH_QUICK_FLAGS ?= --quick

bench: $(STAMP)
	$(PYTHON) -m bench

bench-quick: $(STAMP)
	$(PYTHON) -m bench $(BENCH_QUICK_FLAGS)

# The scale run of issue 20 (not in CI; ~40 min on a quiet machine at its default 10,000,000
# events, 18 min at BENCH_SCALE_EVENTS=1000000 on a busy one): BENCH_SCALE_EVENTS is the one
# knob, the others in bench/scale.py; figures to bench/results/scale-<events>.json and a table.
bench-scale: $(STAMP)
	$(PYTHON) -m bench.scale
