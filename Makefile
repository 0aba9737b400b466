# The verbs of the AIOps stack. `make` alone lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

# uv manages the virtualenv from uv.lock; bootstrap it from PyPI when absent.
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
# uv ships its own CA bundle; use the system's, so it works behind TLS-inspecting proxies too.
export UV_SYSTEM_CERTS := 1
RUN := $(UV) run --frozen
COMPOSE := docker compose

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==0.13.9

.venv: uv.lock pyproject.toml $(filter .tools/bin/uv,$(UV))
	$(UV) sync --frozen
	@touch .venv

.PHONY: install
install: .venv ## Create .venv with every dependency (uv sync)

.PHONY: up
up: ## Build and start the stack (`docker compose up`, detached); returns once every service is healthy
	@if $(COMPOSE) pull --quiet grafana >/dev/null 2>&1 || \
	    docker image inspect "$$($(COMPOSE) config --images | grep grafana)" >/dev/null 2>&1; then \
	  $(COMPOSE) up --build --detach --wait; \
	else \
	  echo "grafana's image cannot be pulled here (no registry?): starting every other service"; \
	  $(COMPOSE) up --build --detach --wait $$($(COMPOSE) config --services | grep -vx grafana); \
	fi

.PHONY: down
down: ## Stop the stack (data kept; `make down V=1` also deletes the volumes)
	$(COMPOSE) down $(if $(V),--volumes)

.PHONY: logs
logs: ## Follow every service's logs
	$(COMPOSE) logs --follow --tail=100

.PHONY: ps
ps: ## Show the stack's containers and their health
	$(COMPOSE) ps

.PHONY: psql
psql: ## psql session on the stack's database
	$(COMPOSE) exec postgres psql -U aiops -d aiops

.PHONY: redis-cli
redis-cli: ## redis-cli session on the stack's Redis
	$(COMPOSE) exec redis sh -c 'REDISCLI_AUTH="$$(cat $(SECRETS)/redis_password)" exec redis-cli'

# Where the stack keeps the secrets it generated at first start (the `secrets` volume).
SECRETS := /run/secrets/aiops

.PHONY: secret
secret: ## Print one of the stack's secrets: `make secret NAME=chaos_token` (no NAME: list them)
	@$(COMPOSE) exec -T postgres $(if $(NAME),cat $(SECRETS)/$(NAME),ls $(SECRETS))

.PHONY: test
test: .venv ## Run the test suite (starts its own PostgreSQL, Redis and services)
	$(RUN) pytest -m "not e2e"

.PHONY: e2e
e2e: .venv ## End-to-end tests on the real compose stack (own project name and ports)
	$(RUN) pytest -m e2e -n 2 --dist loadfile --no-loadscope-reorder

.PHONY: lint
lint: .venv ## ruff, ruff format --check, mypy --strict
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

.PHONY: fmt
fmt: .venv ## Format and autofix
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

# `make load RATE=20 DURATION=300`: requests/s and seconds. It reaches the ports
# the stack publishes: CHECKOUT_PORT & co from the environment, else .env, else the defaults.
RATE ?= 10
DURATION ?= 60
stack_port = $(or $($(1)),$(shell sed -nE 's/^(export )?$(1)=[^0-9]*([0-9]+).*/\2/p' .env 2>/dev/null | tail -n 1),$(2))

.PHONY: load
load: .venv ## Steady traffic across the shop for a while (RATE=10 req/s, DURATION=60 s)
	$(RUN) python -m aiops_chaos load --rate $(RATE) --duration $(DURATION) \
	  --checkout http://127.0.0.1:$(call stack_port,CHECKOUT_PORT,8001) \
	  --payment http://127.0.0.1:$(call stack_port,PAYMENT_PORT,8002) \
	  --inventory http://127.0.0.1:$(call stack_port,INVENTORY_PORT,8003)

.PHONY: chaos
chaos: .venv ## List the chaos scenarios; `make chaos SCENARIO=payment-latency` runs one on the stack
	$(RUN) python -m aiops_chaos $(if $(SCENARIO),run $(SCENARIO),list)

.PHONY: evaluate
evaluate: .venv ## Run every chaos scenario against the stack and score detection (writes evaluation/)
	@curl -sf "http://127.0.0.1:$(call stack_port,ANALYZER_PORT,8004)/health" >/dev/null || $(MAKE) up
	@# A full run keeps its scorecard (bench/results/scorecard.json) and writes docs/evaluation.md
	@# and the README's headline from it, met or missed; a subset does not.
	$(if $(ONLY),,@rm -f evaluation/evaluation.md)
	$(RUN) python -m aiops_chaos evaluate $(if $(ONLY),--only $(ONLY)); status=$$?; \
	$(if $(ONLY),,$(RUN) python -m bench.scorecard evaluation/evaluation.md || status=1;) exit $$status

.PHONY: bench
bench: .venv ## Benchmarks as ratios (needs wrk); writes bench/results and docs/performance.md
	$(RUN) python -m bench

# `make benchmark-rca ARGS="--kind kill --no-readme"`: any option of `python -m bench.rca`.
.PHONY: benchmark-rca
benchmark-rca: .venv ## Root causes on 200+ simulated faults, engine vs two rankers (bench/results/rca.*)
	$(RUN) python -m bench.rca $(ARGS)

# `make benchmark-detect ARGS="--family dip --no-readme"`: any option of `python -m bench.detect`.
.PHONY: benchmark-detect
benchmark-detect: .venv ## Metric anomalies on 78 labelled streams, engine vs three references (bench/results/detect.*)
	$(RUN) python -m bench.detect $(ARGS)
