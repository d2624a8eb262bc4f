"""BIDS validity of the simulated cohorts and of sample_data/, checked with mne-bids.

There is no BIDS validator in Python; these are the checks mne-bids can run
(matching, reading every recording with its sidecars, the dataset report) plus
the sidecar fields BIDS requires. The reference validator (``bids-validator``,
npm) runs when it is on the PATH.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import warnings
from pathlib import Path

import mne_bids
import pandas as pd
import pytest

from neurodx.simulate import simulate_eeg_cohort

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"


def check_bids_eeg(root: Path) -> list[str]:
    """Problems mne-bids (and the BIDS required fields) find in an EEG dataset."""
    problems = []
    desc = json.loads((root / "dataset_description.json").read_text())
    for key in ("Name", "BIDSVersion", "DatasetType"):
        if key not in desc:
            problems.append(f"dataset_description.json: no {key}")
    participants = pd.read_csv(root / "participants.tsv", sep="\t")
    described = json.loads((root / "participants.json").read_text())
    problems += [f"participants.json: column {c} not described"
                 for c in participants.columns if c not in described]
    subjects = sorted(p.name for p in root.glob("sub-*") if p.is_dir())
    if subjects != sorted(participants["participant_id"]):
        problems.append("participants.tsv does not list exactly the sub-* folders")
    paths = mne_bids.find_matching_paths(root, datatypes="eeg", suffixes="eeg",
                                         extensions=".edf")
    if sorted(f"sub-{p.subject}" for p in paths) != subjects:
        problems.append("not every subject has one EEG recording that mne-bids finds")
    for bids_path in paths:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                raw = mne_bids.read_raw_bids(bids_path, verbose="WARNING")
            except Exception as err:  # noqa: BLE001 - any failure is a finding
                problems.append(f"{bids_path.basename}: {err}")
                continue
        # neurodx's own participants.tsv columns (group, site, ...) have no MNE field.
        problems += [f"{bids_path.basename}: {w.message}" for w in caught
                     if "Unable to map the following column" not in str(w.message)]
        sidecar = json.loads(bids_path.copy().update(extension=".json").fpath.read_text())
        for key in ("TaskName", "SamplingFrequency", "EEGReference", "PowerLineFrequency",
                    "SoftwareFilters"):
            if key not in sidecar:
                problems.append(f"{bids_path.basename}: _eeg.json has no {key}")
        if sidecar.get("SamplingFrequency") != raw.info["sfreq"]:
            problems.append(f"{bids_path.basename}: _eeg.json SamplingFrequency differs")
        channels = pd.read_csv(bids_path.copy().update(suffix="channels", extension=".tsv")
                               .fpath, sep="\t")
        if list(channels["name"]) != raw.ch_names:
            problems.append(f"{bids_path.basename}: _channels.tsv names differ from the file")
        if raw.get_montage() is None:
            problems.append(f"{bids_path.basename}: no electrode positions")
    mne_bids.make_report(root, verbose="ERROR")     # fails on unreadable sidecars
    return problems


@pytest.fixture(scope="module")
def bids_cohort(tmp_path_factory):
    """SYNTHETIC: 2 groups x 2 subjects, 16 channels, 4 s."""
    return simulate_eeg_cohort(tmp_path_factory.mktemp("bids") / "c", ("HC", "SZ"), 2,
                               channels=16, sfreq=128.0, duration=4.0, sites=2, seed=3)


def test_simulated_cohort_is_valid_bids(bids_cohort):
    assert check_bids_eeg(bids_cohort) == []
    desc = json.loads((bids_cohort / "dataset_description.json").read_text())
    assert "SYNTHETIC" in desc["Name"] and desc["DatasetType"] == "raw"
    assert desc["GeneratedBy"][0]["Name"] == "neurodx"
    assert "simulation.json" in (bids_cohort / ".bidsignore").read_text().split()


def test_check_finds_a_broken_sidecar(bids_cohort, tmp_path):
    broken = tmp_path / "c"
    shutil.copytree(bids_cohort, broken)
    (broken / "participants.json").write_text("{}")
    chan = next(broken.rglob("sub-HC01_task-rest_channels.tsv"))
    df = pd.read_csv(chan, sep="\t")
    df.loc[0, "name"] = "NOPE"
    df.to_csv(chan, sep="\t", index=False)
    problems = check_bids_eeg(broken)
    assert any("group not described" in p for p in problems)
    assert any("sub-HC01" in p for p in problems)


def test_sample_data_is_valid_bids():
    assert check_bids_eeg(SAMPLE_DATA) == []
    ignored = (SAMPLE_DATA / ".bidsignore").read_text().split()
    # the non-EEG sample cohorts are not BIDS datatypes: the validator must skip them
    for folder in ("regions/", "fmri/", "ct/", "simulation.json"):
        assert folder in ignored


@pytest.mark.skipif(shutil.which("bids-validator") is None,
                    reason="the reference bids-validator (npm) is not installed")
def test_sample_data_passes_the_reference_validator():
    done = subprocess.run(["bids-validator", str(SAMPLE_DATA), "--json"], capture_output=True,
                          text=True, timeout=120)
    report = json.loads(done.stdout)
    assert report["issues"]["errors"] == [], report["issues"]["errors"]
