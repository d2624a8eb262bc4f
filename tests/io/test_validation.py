import mne
import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neurodx.errors import ConfigError
from neurodx.io import (EEGSpec, RegionSpec, VolumeSpec, check_cohort, format_check,
                        load_cohort)
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


def _volume_cohort(root):
    """SYNTHETIC: three 4-D runs, one 3-D volume, one with NaN, one empty file."""
    rng = np.random.default_rng(0)
    volumes = {"a": (6, 5, 4, 3), "b": (6, 5, 4, 3), "c": (6, 5, 4, 3), "d": (6, 5, 4)}
    rows = []
    for pid, shape in volumes.items():
        data = rng.normal(500, 20, shape).astype(np.float32)
        if pid == "c":
            data[0, 0, 0, 1] = np.nan
        img = nib.Nifti1Image(data, np.diag([-3.0, 3.0, 4.0, 1.0]))
        img.header.set_xyzt_units("mm", "sec")
        img.header.set_zooms((3.0, 3.0, 4.0, 2.0)[:len(shape)])
        nib.save(img, root / f"{pid}.nii.gz")
        rows.append([pid, "HC" if pid < "c" else "MA", f"{pid}.nii.gz"])
    (root / "e.nii").write_bytes(b"")
    rows.append(["e", "MA", "e.nii"])
    pd.DataFrame(rows, columns=["participant_id", "group", "path"]).to_csv(
        root / "participants.tsv", sep="\t", index=False)
    return root


def test_volume_cohort_checks(tmp_path):
    cohort = load_cohort(_volume_cohort(tmp_path))
    assert cohort.modality == "volume"
    check = check_cohort(cohort, VolumeSpec(require_4d=True))
    rec = check.recordings.set_index("participant_id")
    assert rec.loc["a", "shape"] == (6, 5, 4) and rec.loc["a", "zooms"] == (3.0, 3.0, 4.0)
    assert rec.loc["a", "n_frames"] == 3 and rec.loc["a", "tr"] == 2.0
    assert rec.loc["a", "orientation"] == "LAS" and rec.loc["a", "format"] == "nifti"
    assert 400 < rec.loc["a", "min"] < rec.loc["a", "max"] < 600
    assert rec["error"].to_dict() == {"a": False, "b": False, "c": True, "d": True, "e": True}
    errors = {p.source: p.message for p in check.errors}
    assert "1 NaN/Inf voxel value(s)" in errors["c c.nii.gz"]
    assert "a 3-D volume (shape 6x5x4) where a 4-D time series" in errors["d d.nii.gz"]
    assert "not a readable NIfTI file" in errors["e e.nii"]
    assert len(check.errors) == 3 and check.volume_shape == (6, 5, 4)
    usable = check.usable_cohort()
    assert usable.participant_ids == ["a", "b"] and set(usable.excluded) == {"c", "d", "e"}
    text = format_check(check)
    assert "frames: 1 .. 3 (median 3)" in text and "NOT READY" in text
    # Without the 4-D requirement the 3-D volume is fine.
    assert [p.source for p in check_cohort(cohort).errors] == ["c c.nii.gz", "e e.nii"]


def test_spec_must_fit_the_modality(tmp_path, small_eeg_cohort):
    with pytest.raises(ConfigError, match="volume cohorts are checked against VolumeSpec, got EEG"):
        check_cohort(load_cohort(_volume_cohort(tmp_path)), EEGSpec())
    with pytest.raises(ConfigError, match="eeg cohorts are checked against EEGSpec, got Volume"):
        check_cohort(load_cohort(small_eeg_cohort), VolumeSpec())
