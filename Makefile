# Two entry points do all the set-up on a fresh machine:
#   make run    -> the daily cycle, locally (ARGS="--date 2026-07-31 --data ../shared/data/prices")
#   make test   -> lint, types, template checks, the deployed size and the whole test suite
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .tools/sam
# The States Language checker the AWS-side checks lack (moto, cfn-lint and sam validate
# all accept a repeated state name, which CloudFormation rejects). Pinned; npm installs it.
ASL_VALIDATOR_VERSION := 4.0.0
ASL_VALIDATOR := .tools/asl/node_modules/.bin/asl-validator
STAMP := $(VENV)/.installed
# The browser tests open the report pages in Debian's Chromium (headless, offline).
CHROMIUM ?= /usr/bin/chromium
export SAM_CLI_TELEMETRY := 0
export ALCHEMISER_CHROMIUM := $(CHROMIUM)

.PHONY: setup run test lint typecheck template asl package-check pytest bench bench-analytics \
	bench-cold-start bench-portfolio bench-dashboard clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(SAM_VENV)/bin/sam:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet 'aws-sam-cli>=1.120,<2'

# Installed once, only when missing (CI and developers run as root on Debian).
$(CHROMIUM):
	@command -v apt-get >/dev/null || \
		{ echo "the browser tests need Chromium at $(CHROMIUM) (Debian: apt-get install chromium)" >&2; exit 1; }
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/alchemiser run $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

$(ASL_VALIDATOR):
	npm install --silent --no-audit --no-fund --prefix .tools/asl asl-validator@$(ASL_VALIDATOR_VERSION)

# Every file of statemachines/, its ${...} keys filled the way the template fills them.
asl: $(STAMP) $(ASL_VALIDATOR)
	rm -rf .tools/asl/definitions
	for f in $$($(BIN)/python -m alchemiser.local.asl_export .tools/asl/definitions); do \
		$(ASL_VALIDATOR) --json-path "$$f" || exit 1; \
	done

template: $(STAMP) $(SAM_VENV)/bin/sam asl
	$(BIN)/cfn-lint template.yaml
	$(SAM_VENV)/bin/sam validate --lint --region us-east-1
	$(SAM_VENV)/bin/sam build --region us-east-1

# After sam build: every function's unzipped size (fails above 240 MiB) and its handler
# imported with only its layers. Managed-layer replicas are cached under .tools/.
package-check: template
	$(BIN)/python layers/package_check.py

pytest: $(STAMP) $(CHROMIUM)
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test: lint typecheck template package-check pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/engine_benchmark.py

bench-analytics: $(STAMP)
	$(BIN)/python benchmarks/analytics_benchmark.py

bench-dashboard: $(STAMP)
	$(BIN)/python benchmarks/dashboard_benchmark.py

bench-cold-start: $(STAMP)
	$(BIN)/python benchmarks/cold_start_benchmark.py

bench-portfolio: $(STAMP)
	$(BIN)/python benchmarks/portfolio_benchmark.py

clean:
	rm -rf $(VENV) .tools .aws-sam .pytest_cache .mypy_cache .ruff_cache tests/artifacts
