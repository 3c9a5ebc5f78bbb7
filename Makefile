# VirtualCoworking developer commands. Needs only Python 3.11 and make: uv is bootstrapped into
# .run/bootstrap when it is not on PATH.
#
#   make run       the whole platform on this machine (embedded PostgreSQL, NATS, SMTP sink)
#   make test      every test suite (uses the machine's PostgreSQL/NATS/Redis/RabbitMQ, see below)
#   make lint      ruff format --check, ruff check, mypy, import-linter
#   make fmt       ruff format + ruff check --fix
#   make migrate   create the databases and apply every service's migrations
#   make bench     the benchmarks (python -m bench)
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

SRC_DIRS := $(wildcard libs/*/src gateway/src services/*/src tools/*/src)
empty :=
space := $(empty) $(empty)
MYPYPATH := $(subst $(space),:,$(SRC_DIRS))
PYTEST_ARGS ?=
ARGS ?=

.PHONY: help sync run test lint fmt migrate bench

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

lint: sync
	$(RUN) ruff format --check .
	$(RUN) ruff check .
	MYPYPATH=$(MYPYPATH) $(RUN) mypy libs gateway services tools
	$(RUN) lint-imports

fmt: sync
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

bench: sync
	$(RUN) python -m bench $(ARGS)
