# The model lifecycle system. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Two workers, one test file each at a time (module fixtures stay in one process); times: bench/README.md.
PYTEST_ARGS ?= -n 2 --dist loadfile --durations=20

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install everything (modelctl lands in .venv/bin)

emulators: venv ## install the local stand-ins the suite needs (bqemulator in .venv-bqemu, Debian's Chromium)
	bash tests/support/install_bqemu.sh
	bash tests/support/install_browser.sh

demo: venv ## run the whole lifecycle on the embedded default (no servers, no credentials)
	$(BIN)/python -m infra.demo

dashboard: venv ## serve the read-only dashboard of the demo's sandbox (after make demo) on http://127.0.0.1:8050/
	$(BIN)/modelctl --registry-url "duckdb://$(CURDIR)/.local/demo/registry.duckdb" \
	    --bucket-url "file://$(CURDIR)/.local/demo/bucket" dashboard

test: venv emulators ## everything the suite needs, emulators included, then pytest
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv ## ruff and mypy
	$(BIN)/ruff check common functions infra tests bench
	$(BIN)/ruff format --check common functions infra tests bench
	$(BIN)/mypy

bench: bench-quick ## the quick benchmarks; bench-full for the figures bench/README.md reports

bench-quick: venv ## every benchmark at reduced size: 200 training iterations, 20 graded days, 6 worker models
	@for b in bench/bench_*.py; do echo "== $$b --quick"; $(BIN)/python $$b --quick || exit 1; done

bench-full: venv ## the benchmarks as bench/README.md reports them (MLflow peer too if .venv-mlflow exists)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

stack-up: venv ## start the emulator stack (Pub/Sub, fake GCS, functions, bridge) in the background
	$(BIN)/modelctl migrate
	$(BIN)/python -m infra.local.stack up --skip-missing
	@echo 'Use it from a shell with: eval "$$($(BIN)/python -m infra.local.stack env)"'


stack-down: ## stop the emulator stack
	$(BIN)/python -m infra.local.stack down

stage: venv ## stage each function into dist/<function>/ with the common/ modules it imports and its requirements
	$(BIN)/python -m infra.deploy.stage

deploy: venv ## deploy to Google Cloud: make deploy PROJECT=p REGION=r [DRY_RUN=1]
	@$(BIN)/python -m infra.deploy --project="$(PROJECT)" --region="$(REGION)"

clean: ## remove .local/ (the embedded registry, bucket, demo sandbox and stack state)
	rm -rf .local

.venv-mlflow/.installed: bench/requirements-mlflow.txt
	@test -x .venv-mlflow/bin/python || $(PYTHON) -m venv .venv-mlflow
	.venv-mlflow/bin/pip install --disable-pip-version-check -q -r bench/requirements-mlflow.txt
	@touch $@

bench-mlflow-venv: .venv-mlflow/.installed ## the separate venv for the MLflow pyfunc peer route (~0.9 GB)

.PHONY: help venv emulators demo dashboard test lint bench bench-quick bench-full bench-mlflow-venv stack-up stack-down stage deploy clean
