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
