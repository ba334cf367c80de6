# The two commands: `make demo` runs cityops on embedded defaults; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install web demo test lint typecheck pytest bench clean

$(BIN)/cityops: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/cityops

# Front-end assets: npm packages copied/bundled into the package's static folder (never a CDN).
WEB_OUT := src/cityops/portal/static/vendor/README.txt
$(WEB_OUT): web/package.json web/package-lock.json web/build.mjs $(wildcard web/src/*)
	cd web && npm ci --silent
	node web/build.mjs
web: $(WEB_OUT)

# `make demo PORT=8101` serves on another port; Ctrl-C stops the server and its live feed.
PORT ?= 8000
demo: install web
	$(BIN)/cityops demo --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/lint-imports --config pyproject.toml

typecheck: install
	$(BIN)/mypy

pytest: install web
	$(BIN)/pytest

test: lint typecheck pytest

# Benchmarks: the anchors' Python packages (the `bench` extras) into .venv, then wrk, PostGIS and
# Chromium from Debian when missing (bench/ensure_tools.sh), then every benchmark in turn.
BENCH_EXTRAS := $(VENV)/.bench-extras
$(BENCH_EXTRAS): pyproject.toml | $(BIN)/cityops
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	@touch $@

bench: install web $(BENCH_EXTRAS)
	bench/ensure_tools.sh
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache web/node_modules src/cityops/portal/static/vendor
