# Two commands on a fresh machine: `make run` (the quick suite, then its table) and `make test`
# (the test suite). Both create .venv if it is missing and install into it: first torch, a CPU
# build where this machine has no CUDA device (no nvidia-smi; a plain `torch` would pull a
# multi-GB CUDA build), then genbench (`make test`: with its dev extra). Set-up runs again only
# when pyproject.toml changes. Variables: SUITE, OUT, PYTEST_ARGS, PYTHON, TORCH_VERSION.
PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
SUITE ?= quick
OUT ?= genbench-results
PYTEST_ARGS ?=
BIN := $(VENV)/bin

.PHONY: run test setup

run: $(VENV)/.genbench
	$(BIN)/genbench run $(SUITE) --out $(OUT)

test: $(VENV)/.genbench-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

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
