# Developer entry points: `make run`, `make test`, `make lint`, `make fmt`.

VENV    := .venv
PYTHON  := $(VENV)/bin/python
STAMP   := $(VENV)/.installed

.PHONY: venv install run test lint fmt

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

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
