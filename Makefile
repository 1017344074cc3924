# The two commands: `make dev` runs the whole service on embedded defaults; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test test-fast proof lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

dev: $(STAMP)
	$(BIN)/tipline dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

# The quick loop while working: no worker processes, a fifth of the property examples (under a minute).
test-fast: $(STAMP)
	PROPERTY_SCALE=0.2 $(BIN)/pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python -m bench.webhook
	$(BIN)/python -m bench.memory
	$(BIN)/python -m bench.filing

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
