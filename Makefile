# Two commands set everything up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
# 3.12: the stratocaster extra (openff-utilities) needs it; the image stays on 3.11 unless built with it.
PYTHON ?= python3.12
# gufe and stratocaster wheels (conda-forge packages, not on PyPI) for the stratocaster extra.
WHEELS ?= ../shared/wheels
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: all venv controlplane test unit bench run crd lint clean

all: test

$(VENV_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) \
	  || PYENV_VERSION="$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.|$$)' | tail -1)" $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --find-links $(WHEELS) -e '.[test]'
	touch $@

venv: $(VENV_STAMP)

# kube-apiserver, etcd and helm, built from Go modules and cached outside the clone.
controlplane:
	bash hack/build-controlplane.sh

test: venv controlplane
	$(PY) -m pytest $(PYTEST_ARGS)

# Tests that need neither the control plane nor the network.
unit: venv
	$(PY) -m pytest -m "not kubernetes and not e2e" $(PYTEST_ARGS)

bench: venv
	$(PY) tests/bench/run.py

run: venv controlplane
	$(PY) -m strategy_operator.localrun

# Re-render the committed CustomResourceDefinition from the pydantic models.
crd: venv
	$(PY) -m strategy_operator.cli crd --write

clean:
	rm -rf $(VENV) .bin .run .pytest_cache .hypothesis
