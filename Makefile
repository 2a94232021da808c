# The two commands: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: demo test test-slow check typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,spark]'
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/tenure demo

check: $(STAMP_DEV)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy --strict

# mypy --strict on the library alone (config in pyproject.toml; also run by `check`).
typecheck: $(STAMP_DEV)
	$(BIN)/mypy --strict

# The Debian packages the tests use (Java for Spark, Chromium, PostgreSQL) are installed first,
# one script after the other: the two pytest workers would otherwise run apt-get at once. A script
# that cannot install (no root, no package) is not fatal here: its tests then say why.
# Two workers (one per core), each test file whole on one worker (`--dist loadfile`): a file's
# module fixtures and the README smoke test's ordered commands stay together.
test: check
	-bash scripts/java.sh >/dev/null
	-bash scripts/chromium.sh >/dev/null
	-bash scripts/postgres.sh install >/dev/null
	$(BIN)/python -m pytest -q -m "not slow" -p no:cacheprovider --durations=15 -n 2 --dist loadfile

test-slow: $(STAMP_DEV)
	$(BIN)/python -m pytest -q -m slow

bench: $(STAMP_DEV)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) tenure-demo .pytest_cache
