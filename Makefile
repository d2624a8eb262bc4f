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

# Grows into `neurodx compare configs/hc_fes_chr_eeg.yaml` as the routes land.
demo: $(STAMP)
	mkdir -p $(OUT)
	$(BIN)/neurodx inspect sample_data --channels 64 --jobs 2 | tee $(OUT)/inspect_sample_data.txt
	$(BIN)/neurodx simulate eeg --out $(OUT)/full_size_cohort --groups HC FES CHR \
		--subjects-per-group 1 --channels 64 --sfreq 1000 --duration 300 --seed 0 --jobs 2
	$(BIN)/neurodx inspect $(OUT)/full_size_cohort --channels 64 --summary \
		| tee $(OUT)/inspect_full_size_cohort.txt
	@echo "demo results: $(OUT)/ (inspection reports; SYNTHETIC full-size cohort in $(OUT)/full_size_cohort)"

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

clean:
	rm -rf $(VENV) runs
