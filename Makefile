# Set-up is idempotent: the virtual environment is rebuilt only when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup quickstart test lint typecheck docs reliability docs-build

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned, so that nothing below pulls another build
	$(BIN)/python -m pip install -q --disable-pip-version-check torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

quickstart: $(STAMP)
	$(BIN)/easytrain run recipes/digits.yaml

# The cheap checks first (lint, types, the docs site), then the tests: two test processes, one
# thread each: small models gain nothing from intra-op threads, and the end-to-end runs spend
# their time in interpreter start-up, which two processes overlap. .ci/run calls only this.
test: lint typecheck docs-build
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check easytrain tests benchmarks
	$(BIN)/ruff format --check easytrain tests benchmarks

# mypy with the pydantic plugin, configured in pyproject.toml ([tool.mypy]: files = easytrain)
typecheck: $(STAMP)
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/python -c 'from easytrain.config.fielddocs import write_table; write_table()'
	$(BIN)/python -m easytrain.config.reference

# The documentation site (mkdocs.yml, docs/) into build/site; strict: a broken link fails it.
# No -q: it hides the warnings from --strict's count, and a broken link would pass.
docs-build: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The hardening tests at length (about 20 min on 2 cores, in one process): 2,000 fuzzed recipes,
# 50 runs SIGKILLed three times each, 2,000 corrupted variants of each base image (400 of each PNG
# also given to torchvision alone); the tables of docs/reliability.md are rewritten from the counts.
COUNTS := build/hardening-counts.json
reliability: $(STAMP)
	mkdir -p build
	EASYTRAIN_FUZZ=long EASYTRAIN_KILL_RUNS=50 EASYTRAIN_IMAGE_FUZZ=2000 \
	EASYTRAIN_IMAGE_FUZZ_COMPARED=400 EASYTRAIN_HARDENING_COUNTS=$(COUNTS) OMP_NUM_THREADS=1 \
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/hardening
	$(BIN)/python -m tests.hardening.reliability $(COUNTS) --write docs/reliability.md
