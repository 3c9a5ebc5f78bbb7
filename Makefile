# VirtualCoworking developer commands. Needs only Python 3.11 and make: uv is bootstrapped into
# .run/bootstrap when it is not on PATH.
#
#   make run       the whole platform on this machine (embedded PostgreSQL, NATS, SMTP sink)
#   make test      every test suite (uses the machine's PostgreSQL/NATS/Redis/RabbitMQ, see below)
#   make verify    the platform under attack: schemathesis on every route (long form), cross-team
#                  authorization on every route, token attacks (VERIFY_EXAMPLES=n, VERIFY_PHASES=...)
#   make chaos     kill -9 tasks, focus, analytics, the broker, PostgreSQL under load, one after another;
#                  analytics against the truth: 0 lost, 0 doubled, recovery times (CHAOS_FAULTS=...)
#   make soak      10 minutes of mixed load through the gateway; every process's RSS and fds sampled,
#                  0 errors and no growth past the printed bounds (SOAK_SECONDS=n)
#   make lint      ruff format --check, ruff check, mypy, import-linter (rules from the workspace)
#   make fmt       ruff format + ruff check --fix
#   make migrate   create the databases and apply every service's migrations
#   make bench     the benchmarks, each beside its anchor; non-zero on a missed target (ARGS=--quick)
#   make service NAME=x  a new service in the house shape, registered everywhere
#   make contract  re-publish docs/api (merged OpenAPI, AsyncAPI of events and sockets)
#   make sync      install the locked dependencies of every workspace member into .venv

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
BOOTSTRAP := .run/bootstrap
BOOTSTRAP_UV := $(BOOTSTRAP)/bin/uv
UV ?= $(shell command -v uv 2>/dev/null || { test -x "$$HOME/.local/bin/uv" && echo "$$HOME/.local/bin/uv"; } || echo $(BOOTSTRAP_UV))
# Only when uv comes from the bootstrap does `sync` depend on building it.
UV_DEP := $(filter $(BOOTSTRAP_UV),$(UV))
# The root project is virtual; its `dev` group pulls every member and the tools. --all-packages
# also installs any member not (yet) listed there. --frozen: install exactly uv.lock, never edit it.
SYNC_FLAGS ?= --frozen --all-packages
# After `sync`, commands run in .venv as is (no second sync, no lock update).
RUN := $(UV) run --no-sync

SRC_DIRS := $(wildcard libs/*/src gateway/src services/*/src services/*/client/src tools/*/src)
empty :=
space := $(empty) $(empty)
MYPYPATH := $(subst $(space),:,$(SRC_DIRS))
PYTEST_ARGS ?=
ARGS ?=

.PHONY: help sync run test verify chaos soak lint fmt migrate bench service contract

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

$(BOOTSTRAP_UV):
	@echo "uv not found: installing it into $(BOOTSTRAP)"
	@mkdir -p $(BOOTSTRAP)/bin
	@if $(PYTHON) -m venv $(BOOTSTRAP) >/dev/null 2>&1 && [ -x $(BOOTSTRAP)/bin/python ]; then \
		$(BOOTSTRAP)/bin/python -m pip install --quiet --disable-pip-version-check uv; \
	else \
		echo "(no venv module: pip install --user uv)"; \
		$(PYTHON) -m pip install --quiet --user uv; \
		ln -sf "$$($(PYTHON) -m site --user-base)/bin/uv" $(BOOTSTRAP_UV); \
	fi
	@$(BOOTSTRAP_UV) --version

sync: | $(UV_DEP)
	$(UV) sync $(SYNC_FLAGS)

run: sync
	$(RUN) python -m vc_devrun $(ARGS)

migrate: sync
	$(RUN) python -m vc_devrun migrate $(ARGS)

# The machine's servers unless the environment names others. tools/testall.py runs each package's
# suite in its own pytest process and fails on any failure or on a suite that collected no test.
test: export DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
test: export EVENT_BUS_URL ?= nats://127.0.0.1:4222
test: export REDIS_URL ?= redis://127.0.0.1:6379/0
test: export RABBITMQ_URL ?= amqp://guest:guest@127.0.0.1:5672/
test: sync
	$(RUN) python tools/testall.py $(PYTEST_ARGS)

# The long form of tests/e2e/test_verify_*.py (the short one runs in `make test`): the real
# processes of `make run`, started by the tests, schemathesis with every phase and many examples.
VERIFY_EXAMPLES ?= 25
VERIFY_PHASES ?= examples,coverage,fuzzing
verify: export VERIFY_EXAMPLES := $(VERIFY_EXAMPLES)
verify: export VERIFY_PHASES := $(VERIFY_PHASES)
verify: export RABBITMQ_URL ?= amqp://guest:guest@127.0.0.1:5672/
verify: sync
	$(RUN) python -m pytest --import-mode=importlib -p no:cacheprovider -q -s --timeout=0 \
		tests/e2e/test_verify_authz.py tests/e2e/test_verify_badtext.py \
		tests/e2e/test_verify_tokens.py tests/e2e/test_verify_schemathesis.py $(PYTEST_ARGS)

# The long forms of tests/chaos and tests/soak (their short forms run in `make test`), each on a
# platform of its own started by the test. Embedded NATS only: the machine's RabbitMQ is shared.
CHAOS_FAULTS ?= tasks,focus,analytics,nats,postgres
CHAOS_WARM ?= 20
chaos: export CHAOS_FORM := long
chaos: export CHAOS_FAULTS := $(CHAOS_FAULTS)
chaos: export CHAOS_WARM := $(CHAOS_WARM)
chaos: sync
	$(RUN) python -m pytest --import-mode=importlib -p no:cacheprovider -q -s --timeout=0 \
		tests/chaos/test_chaos.py -k long $(PYTEST_ARGS)

SOAK_SECONDS ?= 600
soak: export SOAK_FORM := long
soak: export SOAK_SECONDS := $(SOAK_SECONDS)
soak: sync
	$(RUN) python -m pytest --import-mode=importlib -p no:cacheprovider -q -s --timeout=0 \
		tests/soak/test_soak.py -k long $(PYTEST_ARGS)

lint: sync
	$(RUN) ruff format --check .
	$(RUN) ruff check .
	MYPYPATH=$(MYPYPATH) $(RUN) mypy libs gateway services tools
	$(RUN) python tools/lint_imports.py

fmt: sync
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

bench: sync
	$(RUN) python -m bench $(ARGS)

NAME ?=
service: sync
	@test -n "$(NAME)" || { echo "usage: make service NAME=calendar"; exit 2; }
	$(RUN) python -m vc_devrun new-service $(NAME) --uv $(UV)

contract: sync
	$(RUN) python tools/contract.py
