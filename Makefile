# The commands a person and CI run. `make test` and `make run` bootstrap everything on a machine
# that has only Python 3.11: uv into .tools/, the locked environment into .venv/, and the local
# broker and database packages with it.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
UV := .tools/uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
PYTEST := $(BIN)/pytest -p no:cacheprovider

.PHONY: help install tools deploy-check run stack-up stack-down test test-static test-unit test-integration test-e2e test-resilience test-overload-long lint format typecheck bench docs docs-check clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	@echo "installing uv $(UV_VERSION) into .tools/uv"
	@$(PYTHON) -m venv .tools/uv
	@.tools/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	@$(UV) sync --frozen --quiet
	@touch $@

install: $(VENV)/.synced ## Create .venv from uv.lock (with the local broker and database)

tools: ## Install promtool, amtool (Debian's prometheus, prometheus-alertmanager), chromium and CJK fonts when missing
	@if ! command -v promtool >/dev/null || ! command -v amtool >/dev/null; then \
		echo "installing Debian's prometheus and prometheus-alertmanager (promtool, amtool)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq >/dev/null && \
		$$SUDO apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null; \
	fi
	@# The HTML scorecard's browser test (tests/e2e/test_scorecard_browser.py) drives this one.
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium (the headless browser of the scorecard test)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq >/dev/null && \
		$$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	fi
	@# Chinese and Japanese pages render as empty boxes in Chromium without a CJK font.
	@if ! fc-list :lang=ja 2>/dev/null | grep -q . || ! fc-list :lang=zh-cn 2>/dev/null | grep -q .; then \
		echo "installing Debian's fonts-noto-cjk (Chinese and Japanese glyphs for the zh and ja pages)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq >/dev/null && \
		$$SUDO apt-get install -y -qq --no-install-recommends fonts-noto-cjk fontconfig >/dev/null; \
	fi

run: install ## Local stack, the four services and the demo company; prints where to look
	@$(BIN)/kpi run

stack-up: install ## Start only the local broker and database
	@$(BIN)/kpi stack up

stack-down: install ## Stop the local broker and database
	@$(BIN)/kpi stack down

test: install tools lint typecheck test-static test-unit test-integration test-e2e test-resilience ## Everything CI runs

# The static tier includes what docs-check and deploy-check check, so `make test` runs it instead.
test-static: install tools ## Checks of files, no servers: deploy manifests and configs, generated docs, import boundaries
	@$(PYTEST) tests/static -q

test-unit: install ## Pure tests, no servers
	@$(PYTEST) tests/unit -q

test-integration: install tools ## Against the real local broker and database (started by the tests)
	@$(PYTEST) tests/integration -q

test-e2e: install tools ## Several services as processes, end to end
	@$(PYTEST) tests/e2e -q

# docs/resilience.md: what each test injects and checks, and the figures of the last run.
test-resilience: install tools ## Faults injected into the running services: kill -9, broker and database outages, duplicates, overload
	@$(PYTEST) tests/resilience -q

# Not in `make test`: 10 minutes of overload and its drain take about 40 minutes on 2 cores.
test-overload-long: install tools ## The overload test with the 10 minutes of load issue 14 names
	@KPI_RESILIENCE_OVERLOAD_S=600 $(PYTEST) tests/resilience/test_overload.py -q -s

lint: install ## ruff check and format check
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

format: install ## Apply ruff's fixes and formatting
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .

typecheck: install ## mypy --strict
	@$(BIN)/mypy shared services tests

deploy-check: tools ## Validate the Prometheus and Alertmanager files offline (part of test-static)
	@promtool check config deploy/prometheus/prometheus.yml >/dev/null
	@promtool check config deploy/prometheus/prometheus.local.yml >/dev/null
	@promtool check rules deploy/prometheus/rules/*.yml >/dev/null
	@promtool test rules deploy/prometheus/tests/*.yml
	@amtool check-config deploy/alertmanager/alertmanager.yml >/dev/null

docs: install ## Regenerate docs/asyncapi.yaml, docs/schemas/*.json and docs/openapi.json from the code
	@$(BIN)/python -m shared.contract_docs
	@$(BIN)/python -m services.reporting.openapi_doc

docs-check: install ## Fail when the generated contract docs are stale (part of test-static)
	@$(BIN)/python -m shared.contract_docs --check
	@$(BIN)/python -m services.reporting.openapi_doc --check

# The Quix Streams peer cannot share .venv (quixstreams 3.28 needs pydantic < 2.14): it gets
# .venv-quix from its own lock file, benchmarks/quix/uv.lock.
QUIX_VENV := $(CURDIR)/.venv-quix

$(QUIX_VENV)/.synced: benchmarks/quix/pyproject.toml benchmarks/quix/uv.lock | $(UV)
	@UV_PROJECT_ENVIRONMENT=$(QUIX_VENV) $(UV) sync --frozen --quiet --project benchmarks/quix
	@touch $@

bench: install $(QUIX_VENV)/.synced ## Measure throughput beside the raw broker and database and a Quix Streams peer; writes docs/benchmarks.md
	@KPI_BENCH_QUIX_PYTHON=$(QUIX_VENV)/bin/python $(BIN)/python -m benchmarks.run

clean: ## Remove the environment, tools and local state
	rm -rf $(VENV) .venv-quix .tools .kpi .pytest_cache .mypy_cache .ruff_cache
