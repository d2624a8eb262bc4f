import json

import mne
import numpy as np
import pandas as pd
import pytest

from neurodx.errors import ConfigError
from neurodx.simulate import group_severity, simulate_eeg_cohort, simulate_eeg_raw


def test_full_size_recording_reads_back_as_64_by_300000(tmp_path):
    raw = simulate_eeg_raw("FES", n_channels=64, sfreq=1000.0, duration=300.0, seed=0)
    path = tmp_path / "big.edf"
    mne.export.export_raw(path, raw, fmt="edf")
    back = mne.io.read_raw_edf(path)
    assert (len(back.ch_names), back.n_times) == (64, 300_000)
    assert back.info["sfreq"] == 1000.0


def test_deterministic_per_seed(tmp_path):
    kw = dict(groups=("HC", "FES"), subjects_per_group=2, channels=16, sfreq=128.0,
              duration=4.0, sites=2)
    a = simulate_eeg_cohort(tmp_path / "a", seed=5, n_jobs=1, **kw)
    b = simulate_eeg_cohort(tmp_path / "b", seed=5, n_jobs=2, **kw)
    c = simulate_eeg_cohort(tmp_path / "c", seed=6, **kw)
    files = sorted(p.relative_to(a) for p in a.rglob("*.edf"))
    assert len(files) == 4
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes()
    assert (a / files[0]).read_bytes() != (c / files[0]).read_bytes()
    assert (a / "participants.tsv").read_text() == (b / "participants.tsv").read_text()


def test_cohort_is_marked_synthetic_and_carries_fake_identities(small_eeg_cohort):
    df = pd.read_csv(small_eeg_cohort / "participants.tsv", sep="\t")
    assert set(df["synthetic"]) == {"yes"}
    assert json.loads((small_eeg_cohort / "simulation.json").read_text())["synthetic"] is True
    assert "SYNTHETIC" in (small_eeg_cohort / "README.md").read_text()
    raw = mne.io.read_raw_edf(small_eeg_cohort / df["path"][0])
    info = raw.info["subject_info"]
    assert info["first_name"] and info["birthday"]      # planted for the privacy tests


def _band_power(raw, lo, hi):
    spec = np.abs(np.fft.rfft(raw.get_data(), axis=1)) ** 2
    freqs = np.fft.rfftfreq(raw.n_times, 1 / raw.info["sfreq"])
    return spec[:, (freqs >= lo) & (freqs <= hi)].sum(axis=1).mean()


def test_documented_group_effect_direction():
    # Documented: patients have weaker alpha and stronger theta sources; averaged over
    # subjects, the FES/HC alpha power ratio is below 1 and the theta ratio above 1.
    kw = dict(n_channels=32, sfreq=128.0, duration=20.0)
    ratio = {}
    for band, (lo, hi) in {"alpha": (8, 13), "theta": (4, 8)}.items():
        hc = np.mean([_band_power(simulate_eeg_raw("HC", seed=s, **kw), lo, hi) for s in range(6)])
        fes = np.mean([_band_power(simulate_eeg_raw("FES", seed=s, **kw), lo, hi)
                       for s in range(6)])
        ratio[band] = fes / hc
    assert ratio["alpha"] < 0.9 and ratio["theta"] > 1.1


def test_null_effect_makes_groups_identical_in_distribution():
    a = simulate_eeg_raw("HC", n_channels=16, sfreq=128.0, duration=4.0, seed=1, effect_size=0)
    b = simulate_eeg_raw("FES", n_channels=16, sfreq=128.0, duration=4.0, seed=1, effect_size=0)
    assert np.array_equal(a.get_data(), b.get_data())


def test_severity_for_other_labels():
    assert group_severity(["HC", "FES", "CHR"]) == {"HC": 0.0, "FES": 1.0, "CHR": 0.5}
    assert group_severity(["ctrl", "mild", "severe"]) == {"ctrl": 0.0, "mild": 0.5, "severe": 1.0}


@pytest.mark.parametrize("kw, message", [
    (dict(channels=48), "no standard montage with 48 channels"),
    (dict(groups=("HC", "HC")), "distinct"),
    (dict(groups=("HC", "SZ-1")), "letters and digits only"),
    (dict(subjects_per_group=0), ">= 1"),
    (dict(sfreq=64.0), "too low"),
])
def test_bad_options(tmp_path, kw, message):
    args = dict(subjects_per_group=1, duration=2.0, sfreq=128.0) | kw
    with pytest.raises(ConfigError, match=message):
        simulate_eeg_cohort(tmp_path / "x", **args)
