# Two commands set everything up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: all venv controlplane node-packages node images test test-e2e unit bench run crd lint clean

all: test

$(VENV_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV_STAMP)

# kube-apiserver, etcd and helm, built from Go modules and cached outside the clone.
controlplane:
	bash hack/build-controlplane.sh

test: venv controlplane
	$(PY) -m pytest --ignore=tests/e2e $(PYTEST_ARGS)

# The e2e one-node cluster (docs/e2e.md): Debian packages, kubelet & co. from Go modules, and the
# pause, base and project images (the Dockerfile, built by buildah); all cached, needs root.
node-packages:
	bash hack/install-node-packages.sh

node: node-packages
	bash hack/build-node.sh >/dev/null

images: node-packages
	bash hack/build-images.sh >/dev/null

test-e2e: venv controlplane node images
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

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
