# Everything sets itself up from nothing: Python 3.11+, make and the package registry.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MELTANO_STAMP := .meltano/.installed
PYTEST_ARGS ?=

.PHONY: test lint typecheck unit demo bench soak clean docs

$(STAMP): tap-intacct/pyproject.toml target-mailchimp/pyproject.toml requirements-dev.txt
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ./tap-intacct -e ./target-mailchimp -r requirements-dev.txt
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy tap-intacct/tap_intacct target-mailchimp/target_mailchimp

unit: $(MELTANO_STAMP)
	$(BIN)/pytest -n 2 -m "not soak" $(PYTEST_ARGS)

test: lint typecheck unit

$(MELTANO_STAMP): $(STAMP) meltano.yml tap-intacct/pyproject.toml target-mailchimp/pyproject.toml
	$(BIN)/meltano install
	touch $@

demo: $(MELTANO_STAMP)
	$(BIN)/python -m tests.sandbox.demo

docs: $(STAMP)
	$(BIN)/python -m tests.docs_settings

bench: $(MELTANO_STAMP)
	$(BIN)/python -m tests.benchmarks --out bench-results --publish tests/benchmarks/RESULTS.md

soak: $(MELTANO_STAMP)
	$(BIN)/pytest -m soak $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
