# The two commands: `make dev` runs the whole service on embedded defaults; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test test-fast proof lint bench clean system

# Debian packages the tests need (headless Chromium for page tests, prometheus for rule checks);
# installed once on a fresh machine, skipped when present.
DEBIAN_PACKAGES := chromium prometheus
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

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

system:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; fi

test: system lint
	$(BIN)/pytest -q

# The quick loop while working: no worker processes, a fifth of the property examples (under a minute).
test-fast: $(STAMP)
	PROPERTY_SCALE=0.2 $(BIN)/pytest -q -m "not slow"

# Load and faults in production shape (2 web processes, 2 workers, Redis with AOF, S3), with figures;
# then the property tests at ten times their CI examples. Not part of `make test` (takes minutes).
proof: $(STAMP)
	$(BIN)/python -m bench.proof
	HYPOTHESIS_PROFILE=proof $(BIN)/pytest -q tests/test_properties.py -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python -m bench.webhook
	$(BIN)/python -m bench.memory
	$(BIN)/python -m bench.filing
	$(BIN)/python -m bench.workers
	$(BIN)/python -m bench.telegram
	$(BIN)/python -m bench.console
	$(BIN)/python -m bench.understanding

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
