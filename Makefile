# The two commands a newcomer needs: `make run` and `make test`. Everything installs itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell scripts/find-python)
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# Two install levels, each a stamp newer than pyproject.toml once done: `make run` needs only
# the project and the `local` group; everything else (tests, lint, sam) needs the `dev` group,
# which includes `local`, so installing it satisfies both stamps.
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
# The template's scanners live apart (their pins clash with the SAM CLI's): pyproject's `scan` group.
SCAN_VENV := $(VENV)-scan
SCAN_STAMP := $(SCAN_VENV)/.installed
# sam build looks for python3.13 on PATH; the venv provides it.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: help install run admin test test-unit test-integration test-e2e lint typecheck validate scan client-ts build bench soak alarms dashboard-picture release clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# Creates the venv if missing and upgrades pip (dependency groups need pip >= 25.1).
define venv
	@test -x $(PY) || { echo "make: creating the virtualenv $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "make: upgrading pip in $(VENV)"
	@$(PIP) --upgrade "pip>=25.1"
endef

$(RUN_STAMP): pyproject.toml
	$(venv)
	@echo "make: installing what make run needs into $(VENV) (the project, moto, boto3: about a minute the first time)"
	@$(PIP) -e . --group local
	@touch $@

$(STAMP): pyproject.toml
	$(venv)
	@echo "make: installing the test, lint and deploy tools into $(VENV) (pytest, ruff, mypy, sam, playwright: a few minutes the first time)"
	@$(PIP) -e . --group dev
	@touch $@ $(RUN_STAMP)

install: $(STAMP)  ## create .venv and install everything the project and its tests use

$(SCAN_STAMP): pyproject.toml
	@test -x $(SCAN_VENV)/bin/python || { echo "make: creating the virtualenv $(SCAN_VENV) with $(PYTHON)"; $(PYTHON) -m venv $(SCAN_VENV); }
	@echo "make: installing the template scanners into $(SCAN_VENV) (checkov, cfn-lint-serverless: a minute the first time)"
	@$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	@$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --group scan
	@touch $@

run: $(RUN_STAMP)  ## serve the API, the web page and the Telnyx emulator on 127.0.0.1 (no AWS, no Docker)
	@$(PY) -m devtools.local_stack

# The operators' command (docs/abuse-controls.md#operators-rules-and-holds): fraud rules and
# holds, e.g. make admin ARGS="--local prefix deny +1415556" while `make run` is up.
admin: $(RUN_STAMP)  ## fraud rules and holds without a deploy: make admin ARGS="--local rules show"
	@$(PY) -m ops $(ARGS)

test: $(STAMP)  ## everything: lint, types, template checks, unit, integration, end-to-end
	scripts/ensure-system-deps
	npm ci --no-audit --no-fund --loglevel=error  # axe-core, pinned, for the page's accessibility tests
	$(MAKE) --no-print-directory lint typecheck validate scan client-ts
	$(PY) -m pytest
	$(PY) -m pytest benchmarks --quick -p no:cacheprovider  # make bench, once, so it cannot rot

test-unit: $(STAMP)  ## fast tests with in-memory fakes
	$(PY) -m pytest tests/unit

lint: $(STAMP)  ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)  ## mypy --strict over the layer, functions, dev tools and the operators' command
	$(VENV)/bin/mypy

validate: $(STAMP)  ## sam validate --lint (offline)
	$(VENV)/bin/sam validate --lint --template template.yaml

# The TypeScript client (clients/typescript): the OpenAPI document from the code (offline), its
# types by openapi-typescript, then tsc --strict over the types, the wrapper and the example.
# The document and the types are build output (.gitignore), written afresh every time.
CLIENT_TS := clients/typescript
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

client-ts: $(STAMP) node_modules/.package-lock.json  ## the typed TypeScript client: generate it and type-check the example
	$(PY) -m devtools.openapi > $(CLIENT_TS)/openapi.json
	node_modules/.bin/openapi-typescript $(CLIENT_TS)/openapi.json --output $(CLIENT_TS)/schema.d.ts
	node_modules/.bin/tsc --strict --noEmit --project $(CLIENT_TS)

# Offline (checkov --skip-download); every finding needs its reason: docs/security-scan.md.
scan: $(STAMP) $(SCAN_STAMP)  ## checkov and cfn-lint's serverless rules on the template and SAM's output
	$(PY) -m devtools.template_scan

build: $(STAMP)  ## sam build: arm64 python3.13 artifacts in .aws-sam/
	$(VENV)/bin/sam build --template template.yaml

# Builds first: the layer size is the deployed (arm64) one's. Writes docs/benchmarks.md, and the
# CPU per request, cost and capacity model: devtools/perf_model/measured.json, docs/cost.md,
# docs/capacity.md (benchmarks/test_cost_model.py).
bench: build  ## cold starts, layer size, round trips, CPU per request: docs/benchmarks.md, cost.md, capacity.md
	$(PY) -m pytest benchmarks -p no:cacheprovider

# docs/reliability.md: about 2,000 requests of mixed journeys with Telnyx, DynamoDB and function
# faults injected at once, then the invariants; SOAK_SEED=N replays a run's schedule. DynamoDB
# Local (Java) as the test suites start it; its quick slice is tests/soak, in make test.
soak: $(STAMP)  ## mixed journeys under faults, then the invariants: docs/reliability.md
	scripts/ensure-system-deps
	$(PY) -m devtools.soak $(if $(SOAK_SEED),--seed $(SOAK_SEED))

# docs/operations.md: the per-function and per-table alarms written into template.yaml again
# (after adding a function or a table), and the dashboard's picture from a local run. Only
# these targets write them.
alarms: $(STAMP)  ## write the alarms of every function and table into template.yaml
	$(PY) -m devtools.monitoring alarms

dashboard-picture: $(STAMP)  ## drive the local stack, draw docs/operations-dashboard.png
	$(PY) -m devtools.monitoring picture docs/operations-dashboard.png

# Checks the changelog's dated section, the version source and a clean tree; tags, never pushes.
release: $(RUN_STAMP)  ## tag vX.Y.Z: make release VERSION=x.y.z (docs/security-scan.md, CHANGELOG.md)
	@test -n "$(VERSION)" || { echo "make release: say which, e.g. make release VERSION=1.2.3" >&2; exit 2; }
	@$(PY) -m devtools.release "$(VERSION)"

clean:  ## remove the venvs, caches and build output
	rm -rf $(VENV) $(SCAN_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .local
