# Every target bootstraps .venv itself: a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help demo test lint format typecheck docs docs-serve bench check clean

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml examples/allocation/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-e ".[all]" -e examples/allocation --group dev --group bench
	touch $@

demo: $(STAMP)  ## Run the example's main job on embedded defaults.
	$(BIN)/allocation demo

test: $(STAMP)  ## Run the tests (services are used when reachable), with branch coverage.
	$(BIN)/python -m pytest --cov=tactical --cov-branch --cov-report= $(PYTEST_ARGS)
	$(BIN)/coverage report --include='*/tactical/_*.py' --fail-under=95 | tail -n 1
	$(BIN)/coverage report --skip-covered

lint: $(STAMP)  ## ruff check and ruff format --check.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)  ## Apply ruff's fixes and formatting.
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)  ## mypy --strict over src, tests and examples; pyright strict over typing_tests.
	$(BIN)/mypy src tests examples/allocation/src examples/allocation/tests typing_tests benchmarks docs
	$(BIN)/pyright

docs: $(STAMP)  ## Build the docs site strictly (offline).
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict  # not --quiet: it hides the warnings that --strict counts

docs-serve: $(STAMP)  ## Serve the docs on localhost:8000.
	$(BIN)/mkdocs serve

bench: $(STAMP)  ## Run the benchmark workloads (several minutes).
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

check: lint typecheck docs test  ## Everything CI runs.

clean:  ## Remove the environment and build products.
	rm -rf $(VENV) site .mypy_cache .ruff_cache .pytest_cache .coverage htmlcov
