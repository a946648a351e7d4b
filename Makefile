# Every target installs what it needs into .venv first; only Python >= 3.10 is assumed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch; pin it so pip never picks a multi-GB CUDA build.
TORCH ?= torch==2.13.0

.PHONY: install test lint format bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/python -m pytest

bench: install
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python bench/model_forward.py --steps 10

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
