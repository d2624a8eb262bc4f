import mne
import numpy as np
import pandas as pd
import pytest

from neurodx.io import EEGSpec, RegionSpec, check_cohort, format_check, load_cohort
from neurodx.simulate import simulate_eeg_raw


def _edf(cohort, pid):
    return cohort / pid / "eeg" / f"{pid}_task-rest_eeg.edf"


def test_clean_cohort_has_no_problem(small_eeg_cohort):
    check = check_cohort(load_cohort(small_eeg_cohort), EEGSpec(n_channels=64), n_jobs=2)
    assert check.problems == []
    assert len(check.channel_names) == 64 and check.sfreq == 128.0
    assert set(check.recordings["n_channels"]) == {64}


def test_32_channel_and_flat_channel_files_are_named(eeg_cohort_copy):
    c = eeg_cohort_copy
    mne.export.export_raw(_edf(c, "sub-HC02"), simulate_eeg_raw(
        "HC", n_channels=32, sfreq=128.0, duration=8.0, seed=1), fmt="edf", overwrite=True)
    raw = simulate_eeg_raw("FES", sfreq=128.0, duration=8.0, seed=2)
    raw._data[7] = 0.0
    mne.export.export_raw(_edf(c, "sub-FES01"), raw, fmt="edf", overwrite=True)

    for spec, expected in [(EEGSpec(n_channels=64), "32 EEG channels, expected 64"),
                           (EEGSpec(), "32 EEG channels, missing 32 of the cohort's 64")]:
        check = check_cohort(load_cohort(c), spec)
        errors = [str(p) for p in check.errors]
        assert len(errors) == 2
        assert any("sub-HC02_task-rest_eeg.edf" in e and expected in e for e in errors)
        assert any("sub-FES01_task-rest_eeg.edf" in e and "flat channel(s) (1): "
                   + raw.ch_names[7] in e for e in errors)
        assert set(check.usable_cohort().excluded) == {"sub-HC02", "sub-FES01"}
        assert "NOT READY" in format_check(check)


def test_sampling_rate_policy(eeg_cohort_copy):
    c = eeg_cohort_copy
    mne.export.export_raw(_edf(c, "sub-CHR01"), simulate_eeg_raw(
        "CHR", sfreq=256.0, duration=8.0, seed=4), fmt="edf", overwrite=True)
    resample = check_cohort(load_cohort(c), EEGSpec())
    assert not resample.has_errors
    assert any("256 Hz will be resampled to 128 Hz" in str(p) for p in resample.problems)
    refuse = check_cohort(load_cohort(c), EEGSpec(sfreq_policy="refuse"))
    assert [p.source.split()[0] for p in refuse.errors] == ["sub-CHR01"]


def test_short_recordings_and_non_eeg_channels(small_eeg_cohort):
    check = check_cohort(load_cohort(small_eeg_cohort), EEGSpec(min_duration=60))
    assert len(check.errors) == 6
    assert "shorter than the required 60 s" in str(check.errors[0])


def test_region_cohort_checks(tmp_path):
    rng = np.random.default_rng(0)
    tables = {"a": rng.standard_normal((100, 10)), "b": rng.standard_normal((100, 10)),
              "c": rng.standard_normal((100, 8)), "d": rng.standard_normal((10, 10)),
              "e": rng.standard_normal((100, 10))}
    tables["e"][:, 3] = 1.5
    rows = []
    for pid, t in tables.items():
        np.save(tmp_path / f"{pid}.npy", t)
        rows.append([pid, "HC" if pid < "c" else "MA", f"{pid}.npy"])
    pd.DataFrame(rows, columns=["participant_id", "group", "path"]).to_csv(
        tmp_path / "participants.tsv", sep="\t", index=False)
    check = check_cohort(load_cohort(tmp_path), RegionSpec(min_timepoints=20))
    assert check.n_regions == 10
    text = "\n".join(map(str, check.errors))
    assert "c c.npy: 8 regions, expected 10" in text
    assert "d d.npy: 10 time points, fewer than the required 20" in text
    assert "e e.npy: flat region(s) (1): region_003" in text
    assert len(check.errors) == 3


def test_volume_cohorts_are_not_checked_yet(tmp_path):
    (tmp_path / "a.nii.gz").write_bytes(b"")
    pd.DataFrame([["a", "HC", "a.nii.gz"]], columns=["participant_id", "group", "path"]).to_csv(
        tmp_path / "participants.tsv", sep="\t", index=False)
    with pytest.raises(NotImplementedError, match="volume"):
        check_cohort(load_cohort(tmp_path))
