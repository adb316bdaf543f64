# The daily loop. Everything installs into .venv through uv (bootstrapped into .tools): nothing by hand.
PYTHON ?= python3
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test test-fast chaos lint typecheck asyncapi bench up down clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv>=0.9,<1"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock shared/pyproject.toml cli/pyproject.toml services/*/pyproject.toml
	$(UV) sync --frozen
	@touch $@

install: $(VENV)/.synced ## install every package and tool into .venv

demo: install ## run the sample campaign end to end on the embedded stack
	$(BIN)/coldstream demo

test: install ## the whole suite: unit, integration (real NATS + Postgres from wheels), end to end
	$(BIN)/pytest -q

test-fast: install ## everything but the end-to-end tests
	$(BIN)/pytest -q -m "not e2e"

chaos: install ## 5,000 leads under SIGKILLs, a nats-server restart and webhooks; fails on any broken promise
	$(BIN)/coldstream chaos $(CHAOS_ARGS)

lint: install ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared/src cli/src services/discovery/src services/enrichment/src services/sending/src services/replies/src services/personalization/src

asyncapi: install ## regenerate docs/asyncapi/*.json from the code
	$(BIN)/coldstream asyncapi --out docs/asyncapi

bench: install ## benchmarks (BENCH="discovery sending" for some); figures go to docs/benchmarks.md
	$(BIN)/python -m benchmarks $(BENCH)

up: ## the compose stack (needs a Docker engine)
	docker compose up -d --build

down:
	docker compose down

clean:
	rm -rf .data $(VENV) .tools
