# The two commands a newcomer needs: `make run` and `make test`. Everything installs itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell scripts/find-python)
STAMP := $(VENV)/.installed
# sam build looks for python3.13 on PATH; the venv provides it.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: help install run test test-unit test-integration test-e2e lint typecheck validate build bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	$(PY) -m pip install --quiet --disable-pip-version-check -e . --group dev
	@touch $@

install: $(STAMP)  ## create .venv and install everything the project and its tests use

run: $(STAMP)  ## serve the API, the web page and the Telnyx emulator on 127.0.0.1 (no AWS, no Docker)
	$(PY) -m devtools.local_stack

test: $(STAMP)  ## everything: lint, types, template checks, unit, integration, end-to-end
	scripts/ensure-system-deps
	$(MAKE) --no-print-directory lint typecheck validate
	$(PY) -m pytest

test-unit: $(STAMP)  ## fast tests with in-memory fakes
	$(PY) -m pytest tests/unit

lint: $(STAMP)  ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)  ## mypy --strict over the layer, functions and dev tools
	$(VENV)/bin/mypy

validate: $(STAMP)  ## sam validate --lint (offline)
	$(VENV)/bin/sam validate --lint --template template.yaml

build: $(STAMP)  ## sam build: arm64 python3.13 artifacts in .aws-sam/
	$(VENV)/bin/sam build --template template.yaml

bench: $(STAMP)  ## speed and memory targets
	$(PY) -m pytest benchmarks -s -p no:cacheprovider

clean:  ## remove the venv, caches and build output
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .local
