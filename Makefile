# The two commands: `make demo` runs a whole phone call on the embedded engines (no keys, no
# network), `make test` runs the tests. Both create .venv and install the project on first use.
# `make serve` runs the server.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo serve test lint bench-availability bench-turns clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m bot demo

serve: $(STAMP)
	$(BIN)/python -m bot serve

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

bench-availability: $(STAMP)
	$(BIN)/python -m bench.availability

bench-turns: $(STAMP)
	$(BIN)/python -m bench.turn_latency

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
