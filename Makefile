# hetsim: every target creates or reuses .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out

.PHONY: demo test lint bench fidelity crosscheck clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "hetsim needs Python 3.11+"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)  ## run the flagship scenario and write a report to $(OUT)/demo
	$(BIN)/hetsim run scenarios/flagship.yaml -o $(OUT)/demo

test: $(STAMP)  ## lint + the whole test suite (what CI runs)
	$(BIN)/ruff check simulator workloads tests
	$(BIN)/python -m pytest -q

lint: $(STAMP)  ## ruff + strict type checking
	$(BIN)/ruff check simulator workloads tests
	$(BIN)/ruff format --check simulator workloads tests || true
	$(BIN)/mypy

bench: $(STAMP)  ## simulated operators per second and wall time for the reference scenarios
	$(BIN)/python -m simulator.bench -o $(OUT)/bench.json

fidelity: $(STAMP)  ## predictions vs published measurements
	$(BIN)/hetsim fidelity -o $(OUT)/fidelity

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
