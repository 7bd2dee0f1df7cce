# Three commands on a fresh machine: `make run` (the quick suite, then its table), `make test`
# (the fast tier: tests/unit/ without the tests marked slow or compile, in parallel) and `make
# test-all` (every test: adds tests/e2e/ - real processes, workers, signals, Dask, the browser -
# and the slow and compile tests; what CI runs). Each creates .venv if it is missing and installs
# into it: first torch, a CPU build where this machine has no CUDA device (no nvidia-smi; a plain
# `torch` would pull a multi-GB CUDA build), then genbench (the test targets: with its dev extra).
# Set-up runs again only when pyproject.toml changes. Variables: SUITE, OUT, TESTS (the fast
# tier's paths), PYTEST_ARGS, PYTEST_WORKERS (xdist's -n: auto = one per core), PYTHON,
# TORCH_VERSION.
PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
SUITE ?= quick
OUT ?= genbench-results
PYTEST_ARGS ?=
TESTS ?= tests/unit
PYTEST_WORKERS ?= auto
BIN := $(VENV)/bin
# One pytest worker per core (at most 8: each holds torch, and tests/e2e/ starts processes of its
# own); worksteal: an idle worker takes queued tests from a busy one, so a long test at the end
# does not leave the other cores idle.
PYTEST := $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --maxprocesses 8 --dist worksteal

.PHONY: run test test-all setup

run: $(VENV)/.genbench
	$(BIN)/genbench run $(SUITE) --out $(OUT)

test: $(VENV)/.genbench-dev
	$(PYTEST) -m "not slow and not compile" $(TESTS) $(PYTEST_ARGS)

test-all: $(VENV)/.genbench-dev
	$(PYTEST) tests $(PYTEST_ARGS)

setup: $(VENV)/.genbench-dev

# The venv and torch: the CPU build from a local wheel or PyTorch's CPU index, unless CUDA is here.
$(VENV)/.torch:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	if command -v nvidia-smi >/dev/null 2>&1; then \
		$(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)"; \
	else \
		$(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)+cpu" 2>/dev/null || \
		$(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)" --index-url $(TORCH_CPU_INDEX); \
	fi
	touch $@

$(VENV)/.genbench: $(VENV)/.torch pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/genbench list > /dev/null
	touch $@

$(VENV)/.genbench-dev: $(VENV)/.torch pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/genbench list > /dev/null
	touch $@
