# Two commands do all set-up on a fresh machine:
#   make run    the embedded stack (SQLite ledger, local folders, local Prefect server + UI)
#   make test   the test suite (installs Python deps and the system tools the tests use)

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
DATA   ?= var
STAMP  := $(VENV)/.installed

.PHONY: setup system-deps run process test lint typecheck check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Debian tools the tests use: the reference `age` (interop), Chromium (UI checks), the
# OpenSSH client and server (ssh-keygen interop, SFTP), PostgreSQL (ledger and scale path,
# started with trust for 127.0.0.1 and a database "test" by .ci/ensure-postgres). The tests
# refuse to start when one is missing (tests/real_parts.py).
system-deps:
	@{ command -v age && command -v chromium && command -v ssh-keygen && [ -x /usr/sbin/sshd ] && command -v sftp && command -v pg_ctlcluster; } >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq age chromium openssh-client openssh-server postgresql; }
	@.ci/ensure-postgres

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(DATA)/handoff.toml: | $(STAMP)
	$(BIN)/handoff init $(DATA) --demo
	cp $(DATA)/samples/demo-intake.csv $(DATA)/agencies/demo-agency/drop/

run: $(STAMP) $(DATA)/handoff.toml
	$(BIN)/handoff up --config $(DATA)/handoff.toml

process: $(STAMP) $(DATA)/handoff.toml
	$(BIN)/handoff process --config $(DATA)/handoff.toml

test: $(STAMP) system-deps
	$(BIN)/pytest

# ruff, then the layer contracts of docs/architecture.md (pyproject.toml [tool.importlinter]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

bench: $(STAMP)
	$(BIN)/python bench/crypto.py
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/deadlines.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
