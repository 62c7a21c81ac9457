# make demo: validate the bundled official ImagingSelection examples and print the report.
# make test: lint, type-check, check the compiled rules are up to date, lint the definitions,
# run every test.
# Both create .venv with the Python found as $(PYTHON) (3.11 or later) if it is missing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Stamps: reinstall when pyproject.toml changes.
RUNTIME := $(VENV)/.installed-runtime
TEST := $(VENV)/.installed-test

.PHONY: demo test lint typecheck rules-check rules-lint pytest fixtures chromium clean

demo: $(RUNTIME)
	@# Exit status 1 means "some resource is invalid": expected here, since seven of the
	@# official examples predate the current model. Status 2 (cannot run) fails the target.
	@$(BIN)/fhir-invariants validate examples/imagingselection; status=$$?; \
	if [ $$status -ge 2 ]; then exit $$status; fi; \
	echo "(exit status $$status: 0 all valid, 1 some resource has errors, 2 could not run)"

test: lint typecheck rules-check rules-lint pytest

lint: $(TEST)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check engine tests tools conftest.py

typecheck: $(TEST)
	$(BIN)/mypy engine

rules-check: $(TEST)
	$(BIN)/fhir-invariants rules regenerate --check

# Every constraint of the bundled definitions checked statically: fails on any finding of
# severity error. The errors in the published R5 text are silenced, each with its reason,
# in tools/r5_lint.yaml; warnings are printed and do not fail (--strict would).
rules-lint: $(TEST)
	$(BIN)/fhir-invariants rules lint --rules tools/r5_lint.yaml

# The official R5 packages (examples, core) from the npm registry, checked against their
# published integrity and cached in .cache/: tests read thousands of official examples.
fixtures: $(TEST)
	$(BIN)/python tools/fhir_packages.py fetch

# Headless Chromium opens the HTML report in tests/test_html_report.py: Debian's package,
# installed when missing (as root, as CI runs; through sudo otherwise).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

chromium: $(CHROMIUM)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# pytest runs the tests in tests/ and every docstring example in engine/ (pyproject.toml).
pytest: $(TEST) fixtures $(CHROMIUM)
	$(BIN)/pytest

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else \
		"fhir-invariants needs Python 3.11 or later; this is " + sys.version.split()[0] + \
		": run make PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(RUNTIME)

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache .hypothesis
