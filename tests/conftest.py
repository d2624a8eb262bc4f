"""Shared fixtures: small synthetic cohorts written once per test session."""
from __future__ import annotations

import shutil
from pathlib import Path

import mne
import pytest

from neurodx.simulate import simulate_eeg_cohort

mne.set_log_level("ERROR")

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="session")
def small_eeg_cohort(tmp_path_factory) -> Path:
    """SYNTHETIC: 3 groups x 2 subjects, 64 channels, 128 Hz, 8 s, 2 sites (read-only)."""
    out = tmp_path_factory.mktemp("small") / "cohort"
    return simulate_eeg_cohort(out, ("HC", "FES", "CHR"), 2, channels=64, sfreq=128.0,
                               duration=8.0, seed=11, sites=2)


@pytest.fixture
def eeg_cohort_copy(small_eeg_cohort, tmp_path) -> Path:
    """A writable copy of :func:`small_eeg_cohort` for tests that damage it."""
    dst = tmp_path / "cohort"
    shutil.copytree(small_eeg_cohort, dst)
    return dst


@pytest.fixture(scope="session")
def eeg_bundle(small_eeg_cohort, tmp_path_factory) -> Path:
    """The ``rmt_les`` route of configs/hc_fes_chr_eeg.yaml trained on :func:`small_eeg_cohort`
    (a bundle folder; read-only)."""
    from neurodx.bundles import train_route
    from neurodx.config import load_config

    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "hc_fes_chr_eeg.yaml",
                         overrides={"cohort": {"path": str(small_eeg_cohort)},
                                    "eeg": {"min_duration": 0.0}})
    out = tmp_path_factory.mktemp("bundle") / "rmt_les"
    train_route(config, "rmt_les", out)
    return out


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas():
    """pytest-xdist runs 2 workers on 2 cores: BLAS threads would only oversubscribe."""
    from neurodx._threads import single_threaded_blas

    with single_threaded_blas():
        yield
