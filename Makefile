# The two commands: `make demo` and `make test`. Both set up everything they need.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

# Use the local data mirror next to the project when there is one and none is configured.
ifeq ($(strip $(SOZIALRAUM_DATA_MIRROR)),)
  ifneq ($(wildcard ../shared/data/berlin),)
    export SOZIALRAUM_DATA_MIRROR := $(abspath ../shared/data)
  endif
endif

.PHONY: demo test bench bench-scale peer lint format setup system-deps browser clean-db

# make demo CITY=hamburg serves another city pack (data/cities/<city>); default: berlin
demo: setup
	$(BIN)/sozialraum demo --port 8000 $(if $(CITY),--city $(CITY))

test: setup browser
	$(BIN)/pytest

bench: setup browser peer
	$(BIN)/python -m bench

# synthetic stores of 1× and 10× Berlin (BENCH_SCALES=1,10,100 for 100×)
bench-scale: setup
	$(BIN)/python -m bench.scale

peer:
	@scripts/setup-peer.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

setup: system-deps $(VENV)/.installed
	@$(BIN)/python -m web.assets

browser:
	@scripts/ensure-system-deps.sh --browser

system-deps:
	@scripts/ensure-system-deps.sh

$(VENV)/.installed: pyproject.toml uv.lock
	@scripts/setup-python.sh
	@touch $@

clean-db:
	-$(BIN)/sozialraum db stop
	rm -rf var
