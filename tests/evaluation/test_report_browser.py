"""Every shipped study's report opens in a real headless Chromium: no console error, every
figure loads.

Each study of ``configs/`` runs on a tiny SYNTHETIC cohort written into tmp_path (few
subjects, short recordings, CNN routes for one epoch), so the report has every kind of
section a real run has (tables, spectra and LES panels, training curves) in seconds.
Chromium and its driver come from the distribution (Debian: ``apt-get install chromium
chromium-driver``; ``make test`` installs them when it runs as root with apt); the test
skips, saying so, only when they cannot be found.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from neurodx.config import load_config
from neurodx.evaluation.compare import run_comparison

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
QUICK = {"statistics": {"bootstrap": 20, "permutations": 0}}


def _chromium():
    browser = next((p for p in map(shutil.which, ("chromium", "chromium-browser",
                                                  "google-chrome")) if p), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("no Chromium found (needs chromium and chromedriver on PATH; Debian: "
                    "apt-get install chromium chromium-driver)")
    return browser, driver


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: selenium then never looks one up on the network.
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    yield chrome
    chrome.quit()


def _eeg(tmp_path):
    from neurodx.simulate import simulate_eeg_cohort

    # 16 channels, 2-s windows at 128 Hz: the delta band has c > 1, the others c < 1.
    cohort = simulate_eeg_cohort(tmp_path / "eeg", ("HC", "FES", "CHR"), 2, channels=16,
                                 sfreq=128.0, duration=8.0, seed=11)
    over = {"cohort": {"path": str(cohort)}, "eeg": {"min_duration": 0.0},
            "cv": {"scheme": "stratified_kfold", "n_splits": 2, "n_repeats": 1}, **QUICK}
    # The CNN route's report sections are exercised by brain_ct (a far cheaper network).
    return "hc_fes_chr_eeg.yaml", over, ["rmt_les"]


def _regions(tmp_path):
    from neurodx.simulate import simulate_region_cohort

    cohort = simulate_region_cohort(tmp_path / "regions", ["HC", "SZ"], 4, n_regions=12,
                                    n_times=120, seed=3)
    over = {"cohort": {"path": str(cohort)}, "cv": {"n_splits": 2, "n_repeats": 1}, **QUICK}
    return "region_timeseries.yaml", over, ["rmt_les"]


def _fmri(tmp_path):
    from neurodx.simulate.fmri import simulate_fmri_cohort

    cohort = simulate_fmri_cohort(tmp_path / "fmri", ("HC", "MA"), 3, shape=(24, 24, 8),
                                  frames=40, voxel_size=(10.0, 10.0, 15.5), seed=7,
                                  background_noise=0, quantum=4)
    over = {"cohort": {"path": str(cohort)}, "volume": {"n_parcels": 6},
            "windows": {"length": 20}, "cv": {"n_repeats": 1, "test_size": 0.34}, **QUICK}
    return "meth_fmri.yaml", over, ["rmt_les"]


def _ct(tmp_path):
    from neurodx.simulate import simulate_ct_cohort

    cohort = simulate_ct_cohort(tmp_path / "ct", ["normal", "hemorrhage"], 5, fmt="nifti",
                                shape=(48, 48, 2), seed=1)
    over = {"cohort": {"path": str(cohort)}, "cv": {"scheme": "holdout", "n_repeats": 1},
            "routes": {"cnn7": {"preset": "ct_fast", "epochs": 2, "slice_shape": [32, 32]}},
            **QUICK}
    return "brain_ct.yaml", over, ["cnn7"]


@pytest.mark.parametrize("study", [_eeg, _regions, _fmri, _ct],
                         ids=["hc_fes_chr_eeg", "region_timeseries", "meth_fmri", "brain_ct"])
def test_report_renders_in_chromium(study, browser, tmp_path):
    config, over, routes = study(tmp_path)
    assert (CONFIGS / config).is_file()
    result = run_comparison(load_config(CONFIGS / config, overrides=over), tmp_path / "run",
                            routes=routes)
    browser.get_log("browser")                                  # drop earlier pages' lines
    browser.get(result.report.resolve().as_uri())
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth]);")
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    assert len(images) >= 2
    assert [alt for alt, complete, width in images if not (complete and width > 0)] == []
    assert browser.find_element("tag name", "h1").text.startswith("neurodx comparison")
    text = browser.find_element("tag name", "body").text
    assert "SYNTHETIC DATA" in text
    if "cnn7" in routes:
        assert "CNN training curves" in text
    if config in ("hc_fes_chr_eeg.yaml", "region_timeseries.yaml"):   # window spectra
        assert "What the RMT route measured, per band" in text
        assert "(LES − null mean) / null SD" in text              # the LES unit
