# Two entry points for a fresh machine: `make benchmark` and `make test` (see README.md).
# Both install from the committed lock file (requirements.lock), never from whatever the registry
# serves that day; `make lock` regenerates it, deliberately.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
PIP_VERSION := 25.3
SEEDS ?=
JOBS ?= 2
ARGS ?=
SEED_ARGS := $(if $(SEEDS),--seeds $(SEEDS),)

.PHONY: setup benchmark test lint lock doctor

# The stamp depends on the lock: a regenerated lock reinstalls, an unchanged one installs nothing.
$(STAMP): $(LOCK) pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q pip==$(PIP_VERSION)
	$(PY) -m pip install -q --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $(STAMP)

setup: $(STAMP)

# Re-resolve every dependency (base + dev extra) for Python >= 3.10 on every platform, with hashes.
# Only this target changes the lock; commit the result together with pyproject.toml.
lock: $(STAMP)
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.10 \
		--generate-hashes --quiet -o $(LOCK)

doctor: $(STAMP)
	$(VENV)/bin/sedbench doctor

# The whole default benchmark: desed-synth, features, teachers, every method and control over the
# profile's seeds, the table, the plots and the HTML report.
benchmark: $(STAMP)
	$(VENV)/bin/sedbench doctor --quiet
	$(VENV)/bin/sedbench run --methods all $(SEED_ARGS) --jobs $(JOBS) $(ARGS)

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check sedbench methods tests benchmarks
