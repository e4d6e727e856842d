# Two commands set everything up on a fresh machine: `make run` and `make test`.
# `make help` lists the targets (each documented by its `## ` comment).
SHELL := /bin/bash
# 3.12: the stratocaster extra (openff-utilities) needs it; the image stays on 3.11 unless built with it.
PYTHON ?= python3.12
# gufe and stratocaster wheels (conda-forge packages, not on PyPI) for the stratocaster extra.
WHEELS ?= ../shared/wheels
export WHEELS
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: all help venv controlplane realserver node-packages node images test test-alchemiscale test-e2e unit bench run crd crd-check lint typecheck fmt clean

all: test

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# Both distributions, editable: the operator (operator/) and its dev tooling (dev/).
$(VENV_STAMP): pyproject.toml dev/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) \
	  || PYENV_VERSION="$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.|$$)' | tail -1)" $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --find-links $(WHEELS) -e '.[test]' -e ./dev
	touch $@

venv: $(VENV_STAMP) ## create .venv with the operator, the dev tooling and the test/check tools

controlplane: ## build (or reuse) kube-apiserver, etcd and helm, cached outside the clone
	bash hack/build-controlplane.sh

test: venv controlplane ## every test but the e2e node (what CI runs after the checks)
	$(PY) -m pytest --ignore=tests/e2e $(PYTEST_ARGS)

# The e2e one-node cluster (docs/e2e.md); everything is cached and the steps need root.
node-packages: ## install the Debian packages of the e2e node (containerd, runc, CNI, buildah, ...)
	bash hack/install-node-packages.sh

node: node-packages ## build (or reuse) kubelet, kube-controller-manager and kube-scheduler
	bash hack/build-node.sh >/dev/null

images: node-packages ## build (or reuse) the pause, base and project images (the Dockerfile, by buildah)
	bash hack/build-images.sh >/dev/null

test-e2e: venv controlplane node images ## the chart's Deployment on a real one-node cluster (CI runs it after test)
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

# The real alchemiscale 0.8.0 server's Python 3.12 venv and the Neo4j 5.25.1 runner (Maven),
# cached outside the clone under ~/.cache/strategy-operator, keyed by what they are built from.
realserver: venv ## build (or reuse) the real alchemiscale 0.8.0 stack's venv and Neo4j runner
	$(PY) -m strategy_operator_dev.realserver build

# The contract suite's real-server half and the other `realserver` tests, on one real stack
# (Neo4j, moto S3, user and compute APIs) started on loopback for the session.
test-alchemiscale: venv realserver ## the tests against a real alchemiscale 0.8.0 server on loopback
	$(PY) -m pytest --realserver -m realserver $(PYTEST_ARGS)

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
