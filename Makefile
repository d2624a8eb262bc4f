# Two entry points for a fresh machine with Python 3, pip and make:
#   make demo   -- build .venv, install neurodx, run the main job on sample_data/
#   make test   -- build .venv if missing, run the test suite
#   make docs   -- build the documentation site offline into docs/_build/html
#   make test-lowest -- the test suite against the lowest supported dependency versions
SHELL  := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.neurodx-installed
OUT    ?= runs/demo

.PHONY: demo test test-lowest bench docs validate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test,dask,docs,braindecode]"
	touch $(STAMP)

# The main job: every study's routes compared on identical subject-level folds, on the
# SYNTHETIC sample cohorts. The --set lines are demo-only overrides of the shipped configs
# (which keep the studies' full-size settings): CNN routes use the small *_fast presets,
# the EEG CNN takes non-overlapping windows, the fMRI CNNs every 6th frame, 20
# permutations instead of 50; the fMRI study is tested by 4-fold CV repeated twice (every
# subject is tested in each repeat: on 16 subjects a 20 % holdout tests 4) and the CT
# study by 3-fold CV, once (every patient tested; 60 training patients per fold: the CT
# recipe needs about that many) (README: "What the demo shows" has the measured time).
demo: $(STAMP)
	mkdir -p $(OUT)
	@echo "== [1/5] inspect the SYNTHETIC EEG sample"
	$(BIN)/neurodx inspect sample_data --channels 64 --summary | tee $(OUT)/inspect_sample_data.txt
	@echo "== [2/5] EEG HC/FES/CHR: RMT routes, pyRiemann baseline, EEG CNN"
	$(BIN)/neurodx compare configs/hc_fes_chr_eeg.yaml --out $(OUT)/hc_fes_chr_eeg --jobs 2 \
		--set routes.eeg_cnn.preset=eeg_fast --set routes.eeg_cnn.overlap=0 \
		--set statistics.permutations=20 --set statistics.permutation_route=rmt_tangent
	@echo "== [3/5] fMRI region time series HC/SZ: RMT routes vs tangent space"
	$(BIN)/neurodx compare configs/region_timeseries.yaml --out $(OUT)/region_timeseries \
		--jobs 2 --set statistics.permutations=20
	@echo "== [4/5] fMRI volumes HC/MA: slice CNNs vs RMT routes on region series"
	$(BIN)/neurodx compare configs/meth_fmri.yaml --out $(OUT)/meth_fmri \
		--set volume.atlas=sample_data/fmri/atlas.nii.gz \
		--set routes.per_slice_cnn.preset=fmri_ma_fast \
		--set routes.shared_cnn.preset=fmri_ma_shared_fast \
		--set routes.per_slice_cnn.frame_stride=6 --set routes.shared_cnn.frame_stride=6 \
		--set cv.scheme=stratified_kfold --set cv.n_splits=4 --set cv.n_repeats=2
	@echo "== [5/5] head CT normal/infarct/hemorrhage: lesion CNN trained on slice labels"
	$(BIN)/neurodx compare configs/brain_ct.yaml --out $(OUT)/brain_ct \
		--set routes.cnn7.preset=ct_fast --set cv.scheme=stratified_kfold \
		--set cv.n_splits=3 --set cv.n_repeats=1
	@echo
	@echo "demo results (SYNTHETIC data) in $(OUT)/:"
	@for study in hc_fes_chr_eeg region_timeseries meth_fmri brain_ct; do \
		echo "  $(OUT)/$$study/report.html"; done

# The report test opens every study's report in headless Chromium (distribution package;
# installed here when missing and this runs as root with apt: ~40 s; else that test skips).
test: $(STAMP)
	@if ! { command -v chromium || command -v chromium-browser; } >/dev/null \
		|| ! command -v chromedriver >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing chromium and chromium-driver (apt) for the report browser test"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq chromium chromium-driver >/dev/null \
				|| echo "note: chromium could not be installed; the browser test will skip"; \
		else echo "note: no chromium/chromedriver; the report browser test will skip"; fi; \
	fi
	$(BIN)/python -m pytest -q -n 2

# The test suite in a second venv holding the lowest version of every direct dependency
# that pyproject.toml allows (its `>=` bounds, pinned by requirements/lowest_constraints.py).
# torch stays at the local CPU build 2.13.0 (an older torch would be a multi-GB CUDA build);
# the test tools themselves are not pinned low. uv (from PyPI) resolves: it names the
# package behind a conflict, where pip's resolver only reports one.
LOWEST := .venv-lowest
test-lowest: pyproject.toml requirements/lowest_constraints.py
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install --quiet --upgrade pip uv
	$(LOWEST)/bin/python requirements/lowest_constraints.py pyproject.toml requirements/lowest-constraints.txt
	$(LOWEST)/bin/python -m pip install --quiet torch==2.13.0
	$(LOWEST)/bin/uv pip install --quiet --python $(LOWEST)/bin/python \
		-c requirements/lowest-constraints.txt -e ".[test]"
	$(LOWEST)/bin/python -m pip list --format=freeze > $(LOWEST)/installed.txt
	$(LOWEST)/bin/python -m pytest -q -n 2

# Benchmarks (~15 min on 2 cores; SYNTHETIC data in benchmarks/.data/): rewrites
# benchmarks/results/*.json and the results section of benchmarks/README.md.
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# The documentation site, built offline (no inventories fetched) with warnings as errors;
# the gallery examples run on sample_data/ (NEURODX_DOCS_PLOT=0 skips running them).
# (.[docs] is part of the main install: `make test` builds the site too, tests/test_docs.py.)
docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html
	@echo "documentation: docs/_build/html/index.html"

# Validation on real public recordings (not part of `make test`; about 70 min on a shared
# 2-core machine, see validation/README.md):
# needs the pinned GitHub snapshots under MIRRORS (see validation/README.md); rewrites
# validation/results/*.json and the results section of validation/README.md.
MIRRORS ?=
validate: $(STAMP)
	@test -n "$(MIRRORS)" || { echo "usage: make validate MIRRORS=DIR (the snapshots: see validation/README.md)"; exit 2; }
	$(BIN)/python validation/run_all.py --mirrors $(MIRRORS)

clean:
	rm -rf $(VENV) $(LOWEST) runs docs/_build docs/generated docs/auto_examples
