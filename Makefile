# civicgrid — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
ASSETS := src/civicgrid/web/static/vendor/.installed
export CIVICGRID_VAR_DIR ?= $(CURDIR)/var

.PHONY: demo test test-fast bench lint install assets serve clean

demo: install assets ## install, migrate the embedded SQLite database, load the demo district, a year of cases and its registry, serve
	$(BIN)/civicgrid db upgrade
	$(BIN)/civicgrid demo --if-empty --history 6000 --registry 109863
	$(BIN)/civicgrid serve

test: install assets ## the whole suite (PostgreSQL too when CIVICGRID_TEST_POSTGRES_URL is set)
	$(BIN)/pytest

test-fast: install ## everything except the browser tests
	$(BIN)/pytest -m "not e2e"

bench: install ## benchmarks against peers (PostgreSQL legs when CIVICGRID_BENCH_POSTGIS_URL / _POSTGRES_URL / _KPI_POSTGRES_URL are set); see bench/*/RESULTS.md
	$(BIN)/python bench/locate/run.py --output bench/locate/data/results.json \
		$(if $(CIVICGRID_BENCH_POSTGIS_URL),--postgis-url $(CIVICGRID_BENCH_POSTGIS_URL))
	$(BIN)/python bench/intake/run.py --output bench/intake/data/results.json \
		$(if $(CIVICGRID_BENCH_POSTGRES_URL),--postgres-url $(CIVICGRID_BENCH_POSTGRES_URL))
	$(BIN)/python bench/web/run.py --output bench/web/data/results.json \
		$(if $(CIVICGRID_BENCH_POSTGRES_URL),--postgres-url $(CIVICGRID_BENCH_POSTGRES_URL))
	$(BIN)/python bench/kpi/run.py --output bench/kpi/data/results.json \
		$(if $(CIVICGRID_BENCH_KPI_POSTGRES_URL),--postgres-url $(CIVICGRID_BENCH_KPI_POSTGRES_URL))
	$(BIN)/python bench/registry/run.py --output bench/registry/data/results.json \
		$(if $(CIVICGRID_BENCH_POSTGRES_URL),--postgres-url $(CIVICGRID_BENCH_POSTGRES_URL))

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

assets: $(ASSETS)

$(ASSETS): package.json package-lock.json scripts/vendor_assets.py
	npm ci --no-audit --no-fund --loglevel=error
	$(PYTHON) scripts/vendor_assets.py
	touch $@

clean:
	rm -rf $(VENV) node_modules src/civicgrid/web/static/vendor var test-artifacts
