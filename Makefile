# Every target builds what it needs: a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= config.toml
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -qq -e .
	touch $@

$(TSTAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -qq -e '.[test]'
	touch $@ $(STAMP)

run: $(STAMP)
	@$(BIN)/python scripts/foreground.py $(BIN)/watcher --config $(CONFIG) run

test: $(TSTAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(TSTAMP)
	$(BIN)/ruff check watcher tests bench scripts
	$(BIN)/ruff format --check watcher tests bench scripts
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/poll.py

clean:
	rm -rf $(VENV) var build dist *.egg-info
