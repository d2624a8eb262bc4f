"""Channels marked bad in channels.tsv (eeg.bad_channels) and BAD_ annotated spans."""
from __future__ import annotations

import shutil

import mne
import mne_bids
import numpy as np
import pytest

from neurodx.config import load_config
from neurodx.errors import ConfigError
from neurodx.evaluation.summary import bad_annotation_summary
from neurodx.io import EEGSpec, check_cohort, load_cohort, load_eeg
from neurodx.simulate import simulate_eeg_cohort


@pytest.fixture(scope="module")
def cohort_root(tmp_path_factory):
    """SYNTHETIC: 2 groups x 2 subjects, 16 channels, 6 s (read-only)."""
    return simulate_eeg_cohort(tmp_path_factory.mktemp("bads") / "c", ("HC", "SZ"), 2,
                               channels=16, sfreq=128.0, duration=6.0, seed=4)


def _bids_path(root, pid):
    return mne_bids.BIDSPath(subject=pid.removeprefix("sub-"), task="rest", datatype="eeg",
                             suffix="eeg", extension=".edf", root=root)


@pytest.fixture
def marked(cohort_root, tmp_path):
    """A copy with Fp1 marked bad (and flat) in sub-HC01's channels.tsv."""
    root = tmp_path / "c"
    shutil.copytree(cohort_root, root)
    path = _bids_path(root, "sub-HC01")
    raw = mne_bids.read_raw_bids(path, verbose="ERROR").load_data()
    raw._data[raw.ch_names.index("Fp1")] = 0.0        # a dead electrode, marked bad
    mne_bids.write_raw_bids(raw, path, format="EDF", allow_preload=True, overwrite=True,
                            verbose="ERROR")
    mne_bids.mark_channels(path, ch_names=["Fp1"], status="bad", descriptions=["dead"],
                           verbose="ERROR")
    return root


def test_exclude_removes_the_channel_from_every_subject(marked):
    cohort = load_cohort(marked)
    check = check_cohort(cohort, EEGSpec(bad_channels="exclude"))
    assert not check.has_errors                       # flat but marked bad: not refused
    assert check.bads_dropped == {"Fp1": ["sub-HC01"]}
    assert "Fp1" not in check.channel_names and len(check.channel_names) == 15
    for subject in cohort:
        raw = load_eeg(subject.paths[0], EEGSpec(), check.channel_names, check.sfreq)
        assert raw.ch_names == check.channel_names


def test_interpolate_rebuilds_the_channel_from_its_neighbours(marked):
    cohort = load_cohort(marked)
    spec = EEGSpec(bad_channels="interpolate")
    check = check_cohort(cohort, spec)
    assert not check.has_errors and check.bads_dropped == {}
    raw = load_eeg(cohort.subject("sub-HC01").paths[0], spec, check.channel_names, check.sfreq)
    fp1 = raw.get_data(picks="Fp1")[0]
    assert raw.info["bads"] == [] and np.std(fp1) > 1e-7    # no longer the dead zeros
    fp2 = raw.get_data(picks="Fp2")[0]
    assert np.corrcoef(fp1, fp2)[0, 1] > 0.3                # like its neighbour


def test_interpolate_without_positions_is_a_clear_error(marked):
    for f in (marked / "sub-HC01" / "eeg").glob("*space-CapTrak*"):
        f.unlink()
    check = check_cohort(load_cohort(marked), EEGSpec(bad_channels="interpolate"))
    messages = [str(p) for p in check.errors]
    assert len(messages) == 1 and "sub-HC01" in messages[0]
    assert "no electrode positions" in messages[0] and "eeg.bad_channels" in messages[0]


def test_ignore_keeps_the_channel_and_checks_it(marked):
    check = check_cohort(load_cohort(marked), EEGSpec(bad_channels="ignore"))
    assert check.bads_dropped == {} and "Fp1" in check.channel_names
    # used as it is, the dead channel meets the flat-channel policy (refuse by default)
    assert any("flat channel" in str(p) and "Fp1" in str(p) for p in check.errors)


def test_config_refuses_an_unknown_policy(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("study: x\neeg:\n  bad_channels: drop\n")
    with pytest.raises(ConfigError, match="eeg.bad_channels: expected one of exclude"):
        load_config(cfg)


def test_bad_annotations_are_counted_per_subject(cohort_root, tmp_path):
    root = tmp_path / "c"
    shutil.copytree(cohort_root, root)
    path = _bids_path(root, "sub-SZ02")
    raw = mne_bids.read_raw_bids(path, verbose="ERROR")
    raw.set_annotations(mne.Annotations([1.0, 4.0], [0.5, 0.25], ["BAD_muscle", "eyes"],
                                        orig_time=raw.annotations.orig_time))
    mne_bids.write_raw_bids(raw, path, format="EDF", allow_preload=True, overwrite=True,
                            verbose="ERROR")
    check = check_cohort(load_cohort(root), EEGSpec())
    assert list(check.bad_annotations) == ["sub-SZ02"]
    summary = bad_annotation_summary(check, 1.0, 0.5)["sub-SZ02"]
    # 6 s at 1 s / 0.5 s step: 11 windows; [1, 1.5) s touches those starting at 0.5 and 1.0
    # (the one starting at 0 s ends where the span begins)
    assert summary == {"spans": 1, "seconds": 0.5, "windows_dropped": 2, "windows_total": 11}


def test_scoring_refuses_a_channel_marked_bad_that_the_model_uses(eeg_bundle, eeg_cohort_copy):
    from neurodx.bundles import load_bundle, load_checked_input
    from neurodx.errors import RecordingError

    bundle = load_bundle(eeg_bundle)
    mne_bids.mark_channels(_bids_path(eeg_cohort_copy, "sub-HC01"), ch_names=["Cz"],
                           status="bad", descriptions=["noisy"], verbose="ERROR")
    path = load_cohort(eeg_cohort_copy).subject("sub-HC01").paths[0]
    with pytest.raises(RecordingError, match="marked bad in the recording that the model uses: Cz"):
        load_checked_input(path, bundle)
    # an unmarked subject of the same cohort still scores
    other = load_cohort(eeg_cohort_copy).subject("sub-HC02").paths[0]
    assert bundle.predict(load_checked_input(other, bundle))["predicted"] in bundle.classes
