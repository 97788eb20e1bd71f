# hetsim: every target creates or reuses .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# the test tools (pytest, hypothesis, ruff, mypy, ...) only for the targets that need them: `make demo` installs hetsim alone
TEST_STAMP := $(VENV)/.installed-test
OUT    ?= out

.PHONY: demo test check lint bench fidelity crosscheck docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "hetsim needs Python 3.11+"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

demo: $(STAMP)  ## run the flagship scenario and write a report to $(OUT)/demo
	$(BIN)/hetsim run scenarios/flagship.yaml -o $(OUT)/demo

test: lint  ## lint, strict type checking and the whole test suite (what CI runs)
	$(BIN)/python -m pytest -q

check: lint  ## the edit-test loop (< 2 min): lint + every test not marked slow or fidelity
	$(BIN)/python -m pytest -q -m 'not slow and not fidelity'

lint: $(TEST_STAMP)  ## ruff check + ruff format --check + mypy --strict + the import layer contracts (pyproject [tool.importlinter])
	$(BIN)/ruff check simulator workloads benchmarks tools tests
	$(BIN)/ruff format --check simulator workloads benchmarks tools tests
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

bench: $(STAMP)  ## benchmark suite: wall time, operators/s, events/s, peak memory per case -> $(OUT)/bench.json (BENCH_ARGS=--small: seconds)
	$(BIN)/python -m benchmarks -o $(OUT)/bench.json $(BENCH_ARGS)

fidelity: $(STAMP)  ## predictions vs published measurements
	$(BIN)/hetsim fidelity -o $(OUT)/fidelity

docs: $(STAMP)  ## regenerate docs/yaml-reference.md from the pydantic models (a test fails when it is stale)
	$(BIN)/python -m tools.docsgen

# Optional, never in CI: hetsim vs GenZ, llm-analysis, ZigZag (one env) and SCALE-Sim (its own env: numpy<2).
# Peer versions are pinned so that the numbers in docs/crosscheck.md reproduce.
CC_VENV := .venv-crosscheck
SS_VENV := .venv-scalesim
crosscheck:  ## hetsim side by side with peer tools (installs them into .venv-crosscheck and .venv-scalesim)
	test -x $(CC_VENV)/bin/python || $(PYTHON) -m venv $(CC_VENV)
	$(CC_VENV)/bin/python -m pip install --quiet -e . genz-llm==0.0.16 llm-analysis==0.2.2 zigzag-dse==3.9.1
	test -x $(SS_VENV)/bin/python || $(PYTHON) -m venv $(SS_VENV)
	$(SS_VENV)/bin/python -m pip install --quiet scalesim==3.0.0 'numpy<2'
	$(CC_VENV)/bin/python -m tools.crosscheck --scalesim-python $(SS_VENV)/bin/python

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
