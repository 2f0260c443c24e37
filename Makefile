# romflow: setup, pipeline, tests and benchmarks.
#   make run     set up .venv and run the default pipeline (scale: quick)
#   make test    set up .venv and run the test suite
PYTHON ?= python3
VENV ?= .venv
CORES ?= 2
PY := $(VENV)/bin/python
STAMP := $(VENV)/.romflow-installed

.PHONY: setup run test test-slow bench gpu-lasdi gpu-hybrid clean

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

# One prepared script for a lent GPU machine (under 8 minutes on one GPU) for the hybrid
# paper: the CUDA tests of the hybrid training, rd Table 1 of the `published` protocol at
# N = 64 at full size and the `paper` protocol on one split at a tenth of its budget
# (benchmarks/gpu_hybrid.yaml), then K closures trained at once (vmap) against one at a
# time.  Everything lands under $(GPU_DIR)/ (tables, rule timings, benchmark CSVs).
# Test it here with `make gpu-hybrid GPU_DEVICE=cpu GPU_SCALE=test GPU_CORES=2`.
GPU_CORES ?= 16
GPU_DIR ?= results/gpu-hybrid
gpu-hybrid: $(STAMP)
	$(PY) -m pytest -q tests/unit/test_hybrid.py tests/unit/test_tr_units.py
	$(PY) -m snakemake --cores $(GPU_CORES) --directory $(GPU_DIR) --snakefile $(CURDIR)/Snakefile \
		results/rd/tables/table1.csv results/rd/figures/fig4_error_shift.png \
		--configfile $(CURDIR)/config.yaml $(CURDIR)/benchmarks/gpu_hybrid.yaml \
		--config scale=$(GPU_SCALE) device=$(GPU_DEVICE)
	$(PY) benchmarks/hybrid_stacked.py --device $(GPU_DEVICE) \
		$(if $(filter test,$(GPU_SCALE)),--grid 16 --samples 64 --widths 2 4 --stack 2 4,--samples 1000 --batch 100 --stack 4 8 16) \
		--out $(GPU_DIR)/results/benchmarks/hybrid_stacked.csv
	$(PY) benchmarks/hybrid_closures.py --device $(GPU_DEVICE) \
		$(if $(filter test,$(GPU_SCALE)),--grid 16 --samples 32 --epochs 1,--samples 1000 --batch 1000 --epochs 2) \
		--out $(GPU_DIR)/results/benchmarks/hybrid_closures.csv

clean:
	rm -rf results .snakemake
