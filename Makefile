# Two commands set everything up on a fresh machine: `make run` and `make test`.
# `make help` lists the targets (each documented by its `## ` comment).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: all help venv controlplane test unit bench run crd crd-check lint typecheck fmt clean

all: test

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# Both distributions, editable: the operator (operator/) and its dev tooling (dev/).
$(VENV_STAMP): pyproject.toml dev/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]' -e ./dev
	touch $@

venv: $(VENV_STAMP) ## create .venv with the operator, the dev tooling and the test/check tools

controlplane: ## build (or reuse) kube-apiserver, etcd and helm, cached outside the clone
	bash hack/build-controlplane.sh

test: venv controlplane ## every test (what CI runs after the checks)
	$(PY) -m pytest $(PYTEST_ARGS)

unit: venv ## the tests that need neither the control plane nor the network
	$(PY) -m pytest -m "not kubernetes and not e2e" $(PYTEST_ARGS)

bench: venv ## the benchmarks (figures, never a pass/fail)
	$(PY) tests/bench/run.py

run: venv controlplane ## the operator, a sandbox and the examples on this machine, until Ctrl-C
	$(PY) -m strategy_operator_dev.localrun

crd: venv ## re-render the committed CustomResourceDefinition from the pydantic models
	$(PY) -m strategy_operator.cli crd --write

crd-check: venv ## fail when a committed CRD copy differs from a fresh render
	$(PY) -m strategy_operator.cli crd --check

lint: venv ## ruff (lint and format check) and the import-linter layering contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: venv ## mypy over both packages
	$(VENV)/bin/mypy

fmt: venv ## apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean: ## remove the venv and local state
	rm -rf $(VENV) .bin .run .pytest_cache .hypothesis .mypy_cache .ruff_cache .import_linter_cache
