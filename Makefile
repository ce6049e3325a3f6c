# Two entry points for a fresh machine: `make benchmark` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SEEDS ?= 1
JOBS ?= 2
ARGS ?=

.PHONY: setup benchmark test lint

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

# The whole default benchmark: desed-synth, features, teachers, every method, the table and plots.
benchmark: $(STAMP)
	$(VENV)/bin/sedbench run --methods all --seeds $(SEEDS) --jobs $(JOBS) $(ARGS)

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check sedbench methods tests benchmarks
