# Two entry points, both usable on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test clean

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, from the pinned CPU build, so botorch never pulls a CUDA build
	$(BIN)/pip install -q -c constraints.txt torch
	$(BIN)/pip install -q -c constraints.txt -e '.[test,plot,optuna,postgres,dashboard,ray]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/npopt run examples/quickstart.py --budget 20

test: $(STAMP)
	bash .ci/install_postgres.sh
	bash .ci/install_chromium.sh
	$(BIN)/ruff check npopt tests benchmarks examples
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV)
