# romflow: setup, pipeline, tests and benchmarks.
#   make run     set up .venv and run the default pipeline (scale: quick)
#   make test    set up .venv and run the test suite
PYTHON ?= python3
VENV ?= .venv
CORES ?= 2
PY := $(VENV)/bin/python
STAMP := $(VENV)/.romflow-installed

.PHONY: setup run test test-slow bench gpu-lasdi clean

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

# One prepared script for a lent GPU machine (under 8 minutes on one GPU): the CUDA
# tests of the mLaSDI training and the Vlasov benchmark at the paper's sizes
# (4096-500-5; seconds per iteration of both stages and the prediction cost).
# Test it here with `make gpu-lasdi GPU_DEVICE=cpu GPU_SCALE=test GPU_HIDDEN=8`.
GPU_DEVICE ?= cuda
GPU_SCALE ?= paper
GPU_HIDDEN ?= 500
gpu-lasdi: $(STAMP)
	$(PY) -m pytest -q tests/unit/test_train.py tests/unit/test_training.py
	$(PY) benchmarks/lasdi_vlasov.py --device $(GPU_DEVICE) --scale $(GPU_SCALE) \
		--hidden $(GPU_HIDDEN) --iterations 20 --repeats 2

clean:
	rm -rf results .snakemake
