# romflow: setup, pipeline, tests and benchmarks.
#   make run     set up .venv and run the default pipeline (scale: quick)
#   make test    set up .venv and run the test suite
PYTHON ?= python3
VENV ?= .venv
CORES ?= 2
PY := $(VENV)/bin/python
STAMP := $(VENV)/.romflow-installed

.PHONY: setup run test test-slow bench clean

setup: $(STAMP)

# torch first, from the local CPU wheel when present (a bare `torch` pulls the CUDA build).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m snakemake --cores $(CORES) all

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(PY) benchmarks/lasdi_toy.py
	$(PY) benchmarks/vlasov_fom.py
	$(PY) benchmarks/fom_datasets.py
	$(PY) benchmarks/hybrid_closures.py

clean:
	rm -rf results .snakemake
