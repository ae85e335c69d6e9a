# Everything sets itself up from nothing: Python 3.11+, make and the package registry.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MELTANO_STAMP := .meltano/.installed
BROWSER_STAMP := $(VENV)/.browser
PYTEST_ARGS ?=

.PHONY: test lint typecheck unit demo bench soak clean browser docs

$(STAMP): intacct-mailchimp-common/pyproject.toml tap-intacct/pyproject.toml target-mailchimp/pyproject.toml requirements-dev.txt
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ./intacct-mailchimp-common
	$(BIN)/python -m pip install --quiet -e ./tap-intacct -e ./target-mailchimp -r requirements-dev.txt
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy intacct-mailchimp-common/intacct_mailchimp_common tap-intacct/tap_intacct target-mailchimp/target_mailchimp

unit: $(MELTANO_STAMP) $(BROWSER_STAMP)
	$(BIN)/pytest -n 2 -m "not soak" $(PYTEST_ARGS)

# Chromium for the report's browser test: Playwright's own download where it is reachable,
# else the distribution's package when running as root; otherwise say what to install.
$(BROWSER_STAMP): $(STAMP)
	@if timeout 600 $(BIN)/playwright install chromium >/dev/null 2>&1; then \
	  echo "browser: Playwright's Chromium"; \
	elif [ -x /usr/bin/chromium ]; then \
	  echo "browser: /usr/bin/chromium (Playwright's download is unreachable)"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "browser: installing the chromium package (Playwright's download is unreachable)"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else \
	  echo "no Chromium for the report's browser test: install the chromium package with your package manager (as root), or run $(BIN)/playwright install chromium" >&2; \
	  exit 1; \
	fi
	touch $@

browser: $(BROWSER_STAMP)

test: lint typecheck unit

$(MELTANO_STAMP): $(STAMP) meltano.yml intacct-mailchimp-common/pyproject.toml tap-intacct/pyproject.toml target-mailchimp/pyproject.toml
	$(BIN)/meltano install
	touch $@

demo: $(MELTANO_STAMP)
	$(BIN)/python -m tests.sandbox.demo

# Both sandboxes in the foreground, ready configs in .sandbox/, until Ctrl-C.
.PHONY: sandbox
sandbox: $(STAMP)
	$(BIN)/python -m tests.sandbox.serve

docs: $(STAMP)
	$(BIN)/python -m tests.docs_settings

bench: $(MELTANO_STAMP)
	$(BIN)/python -m tests.benchmarks --out bench-results --publish tests/benchmarks/RESULTS.md

soak: $(MELTANO_STAMP)
	$(BIN)/pytest -m soak $(PYTEST_ARGS)

# The Dagster code location has its own venv (dagster-webserver pulls in the old `backoff`
# distribution, which must not overwrite python-backoff in .venv); its test runs in `unit`.
ORCH_VENV  := orchestration/.venv
ORCH_STAMP := $(ORCH_VENV)/.installed

.PHONY: fleet-demo

$(ORCH_STAMP): orchestration/requirements.txt
	$(PYTHON) -m venv $(ORCH_VENV)
	$(ORCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(ORCH_VENV)/bin/python -m pip install --quiet -r orchestration/requirements.txt
	touch $@

unit: $(ORCH_STAMP)

fleet-demo: $(MELTANO_STAMP) $(ORCH_STAMP)
	$(BIN)/python -m tests.sandbox.fleet

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts
