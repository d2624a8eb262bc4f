# Two entry points for a fresh machine with Python 3, pip and make:
#   make demo   -- build .venv, install neurodx, run the main job on sample_data/
#   make test   -- build .venv if missing, run the test suite
SHELL  := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.neurodx-installed
OUT    ?= runs/demo

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test,dask]"
	touch $(STAMP)

# The main job: every study's routes compared on identical subject-level folds, on the
# SYNTHETIC sample cohorts (CNN routes use the *_fast presets: minutes on 2 CPU cores).
demo: $(STAMP)
	mkdir -p $(OUT)
	$(BIN)/neurodx inspect sample_data --channels 64 --summary | tee $(OUT)/inspect_sample_data.txt
	$(BIN)/neurodx compare configs/hc_fes_chr_eeg.yaml --out $(OUT)/hc_fes_chr_eeg --jobs 2 \
		--set routes.eeg_cnn.preset=eeg_fast --set cv.n_repeats=1 \
		--set statistics.permutations=20 --set statistics.permutation_route=rmt_tangent
	$(BIN)/neurodx compare configs/region_timeseries.yaml --out $(OUT)/region_timeseries \
		--jobs 2 --set statistics.permutations=20
	$(BIN)/neurodx compare configs/meth_fmri.yaml --out $(OUT)/meth_fmri \
		--set volume.atlas=sample_data/fmri/atlas.nii.gz \
		--set routes.per_slice_cnn.preset=fmri_ma_fast \
		--set routes.shared_cnn.preset=fmri_ma_shared_fast --set cv.n_repeats=2
	$(BIN)/neurodx compare configs/brain_ct.yaml --out $(OUT)/brain_ct \
		--set routes.cnn7.preset=ct_fast --set cv.n_repeats=2
	@echo
	@echo "demo results (SYNTHETIC data) in $(OUT)/:"
	@for study in hc_fes_chr_eeg region_timeseries meth_fmri brain_ct; do \
		echo "  $(OUT)/$$study/report.html"; done

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

# Benchmarks (~15 min on 2 cores; SYNTHETIC data in benchmarks/.data/): rewrites
# benchmarks/results/*.json and the results section of benchmarks/README.md.
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) runs
