"""Flat channels and regions under each flat_policy: refuse, drop, skip_subject (check level)."""
import mne
import numpy as np
import pandas as pd
import pytest

from neurodx.cli import main
from neurodx.errors import ConfigError
from neurodx.io import EEGSpec, RegionSpec, check_cohort, format_check, load_cohort
from neurodx.simulate import simulate_eeg_raw


def _region_cohort(root, flat=None, n_subjects=6, n_regions=8, n_times=80):
    """SYNTHETIC: independent noise tables; ``flat`` maps a subject index to constant columns."""
    rng = np.random.default_rng(0)
    rows = []
    for k in range(n_subjects):
        table = rng.standard_normal((n_times, n_regions))
        for col in (flat or {}).get(k, ()):
            table[:, col] = 2.5
        np.save(root / f"s{k}.npy", table)
        rows.append([f"s{k}", "A" if k % 2 else "B", f"s{k}.npy"])
    pd.DataFrame(rows, columns=["participant_id", "group", "path"]).to_csv(
        root / "participants.tsv", sep="\t", index=False)
    return load_cohort(root)


def test_refuse_is_an_error_naming_the_setting(tmp_path):
    check = check_cohort(_region_cohort(tmp_path, {1: [3]}), RegionSpec())
    assert [p.source for p in check.errors] == ["s1 s1.npy"]
    message = check.errors[0].message
    assert message.startswith("flat region(s) (1): region_003")
    assert "regions.flat_policy" in message and "--set regions.flat_policy=drop" in message
    assert "\n" not in message
    assert check.flat_dropped == {} and check.region_columns is None


def test_drop_removes_the_union_of_flat_columns_for_every_subject(tmp_path):
    check = check_cohort(_region_cohort(tmp_path, {1: [3], 4: [3, 6]}),
                         RegionSpec(flat_policy="drop"))
    assert not check.has_errors and not check.skipped
    assert check.flat_dropped == {"region_003": ["s1", "s4"], "region_006": ["s4"]}
    assert check.region_columns == [0, 1, 2, 4, 5, 7]
    assert check.n_regions == 8                      # what every file holds
    assert check.usable_cohort().participant_ids == [f"s{k}" for k in range(6)]
    warnings = [str(p) for p in check.problems]
    assert len(warnings) == 2 and all(w.startswith("WARNING:") for w in warnings)
    text = format_check(check)
    assert ("2 region(s) dropped for being flat in 2 subject(s): region_003 (s1, s4), "
            "region_006 (s4)") in text
    assert "region count used: 6 of 8" in text and "READY" in text


def test_drop_ignores_subjects_left_out_for_other_reasons(tmp_path):
    cohort = _region_cohort(tmp_path, {2: [5]})
    table = np.load(tmp_path / "s2.npy")
    table[0, 0] = np.nan                             # s2 is unusable anyway
    np.save(tmp_path / "s2.npy", table)
    check = check_cohort(cohort, RegionSpec(flat_policy="drop"))
    assert [p.source for p in check.errors] == ["s2 s2.npy"]
    assert check.flat_dropped == {} and check.region_columns is None


def test_skip_subject_leaves_them_out_without_stopping(tmp_path):
    check = check_cohort(_region_cohort(tmp_path, {1: [3], 4: [0]}),
                         RegionSpec(flat_policy="skip_subject"))
    assert not check.has_errors
    assert [p.source for p in check.skipped] == ["s1 s1.npy", "s4 s4.npy"]
    assert str(check.skipped[0]).startswith("SKIPPED: s1 s1.npy: flat region(s) (1)")
    usable = check.usable_cohort()
    assert usable.participant_ids == ["s0", "s2", "s3", "s5"]
    assert set(usable.excluded) == {"s1", "s4"}
    text = format_check(check)
    assert "2 subject(s) will be left out" in text and "skipped" in text


def test_dropping_nearly_every_region_is_refused(tmp_path):
    cohort = _region_cohort(tmp_path, {0: [0, 1, 2, 3], 1: [4, 5, 6]})
    with pytest.raises(ConfigError, match="dropping them leaves 1.*skip_subject"):
        check_cohort(cohort, RegionSpec(flat_policy="drop"))


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="refuse, drop, skip_subject"):
        RegionSpec(flat_policy="ignore")
    with pytest.raises(ValueError, match="refuse, drop, skip_subject"):
        EEGSpec(flat_policy="keep")


def _eeg_cohort_with_flat_channel(root, n_subjects=4):
    rows = []
    for k in range(n_subjects):
        raw = simulate_eeg_raw("HC", n_channels=16, sfreq=128.0, duration=6.0, seed=k)
        if k == 2:
            raw._data[5] = 0.0
        mne.export.export_raw(root / f"e{k}.edf", raw, fmt="edf", verbose="ERROR")
        rows.append([f"e{k}", "HC", f"e{k}.edf"])
    pd.DataFrame(rows, columns=["participant_id", "group", "path"]).to_csv(
        root / "participants.tsv", sep="\t", index=False)
    return raw.ch_names[5]


def test_eeg_policies(tmp_path):
    flat = _eeg_cohort_with_flat_channel(tmp_path)
    cohort = load_cohort(tmp_path)
    refuse = check_cohort(cohort, EEGSpec())
    assert [p.source for p in refuse.errors] == ["e2 e2.edf"]
    assert f"flat channel(s) (1): {flat}; eeg.flat_policy is 'refuse'" in refuse.errors[0].message
    drop = check_cohort(cohort, EEGSpec(flat_policy="drop"))
    assert not drop.has_errors and drop.flat_dropped == {flat: ["e2"]}
    assert len(drop.channel_names) == 15 and flat not in drop.channel_names
    skip = check_cohort(cohort, EEGSpec(flat_policy="skip_subject"))
    assert not skip.has_errors and skip.usable_cohort().participant_ids == ["e0", "e1", "e3"]
    assert len(skip.channel_names) == 16


def test_inspect_flat_policy_flag(tmp_path, capsys):
    _region_cohort(tmp_path, {1: [3]})
    assert main(["inspect", str(tmp_path), "--summary"]) == 1
    assert "regions.flat_policy" in capsys.readouterr().out
    assert main(["inspect", str(tmp_path), "--summary", "--flat-policy", "drop"]) == 0
    assert "1 region(s) dropped for being flat in 1 subject(s): region_003 (s1)" in \
        capsys.readouterr().out
    assert main(["inspect", str(tmp_path), "--flat-policy", "skip_subject"]) == 0
    out = capsys.readouterr().out
    assert "SKIPPED: s1 s1.npy" in out and "1 subject(s) will be left out" in out
