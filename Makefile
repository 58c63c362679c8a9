# Every target creates or refreshes .venv itself; uv is bootstrapped from PyPI when missing.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: venv test lint typecheck pytest demo fmt bench clean

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==0.13.8"

venv: $(UV)
	$(UV) sync --all-packages --frozen --quiet

lint: venv
	$(BIN)/ruff check arbridge connectors tests bench
	$(BIN)/ruff format --check arbridge connectors tests bench
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy arbridge connectors/clickup/arbridge_clickup connectors/quickbooks/arbridge_quickbooks connectors/stripe/arbridge_stripe

# Both cores: a file's tests stay on one worker (module fixtures serve one stack per file).
pytest: venv
	$(BIN)/pytest -q -n 2 --dist loadfile

test: lint typecheck pytest

demo: venv
	$(BIN)/arbridge demo

fmt: venv
	$(BIN)/ruff format arbridge connectors tests bench
	$(BIN)/ruff check --fix arbridge connectors tests bench

bench: venv
	$(BIN)/python bench/economy.py

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
