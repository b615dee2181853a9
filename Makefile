# The two commands: `make demo` runs a whole phone call on the embedded engines (no keys, no
# network), `make test` runs the tests. Both create .venv and install the project on first use.
# `make serve` runs the server.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo serve test lint caller-voice bench-availability bench-turns clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP) caller-voice
	$(BIN)/python -m bot demo

serve: $(STAMP)
	$(BIN)/python -m bot serve

test: $(STAMP) caller-voice
	$(BIN)/python -m pytest -q

# The simulated caller speaks with Flite where installed (a person's voice, which the local
# recogniser hears far better), else with espeak-ng from the Python package.
caller-voice:
	@command -v flite >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Flite, the simulated caller's voice (apt-get install flite)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq flite; } \
	      >/dev/null || echo "Could not install Flite: the simulated caller uses espeak-ng"; \
	  else \
	    echo "Flite is not installed (sudo apt-get install flite): the caller uses espeak-ng"; \
	  fi; }

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
