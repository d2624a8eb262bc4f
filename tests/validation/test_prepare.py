"""The validation prepare scripts on tiny fake snapshots that mimic each repository's layout.

Each test builds a git repository in tmp_path with a few small SYNTHETIC files laid
out like the public snapshot, runs the prepare script against a commit of it, and
checks that the cohort it writes passes ``neurodx inspect``.
"""
from __future__ import annotations

import importlib.util
import io
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from neurodx.cli import main as neurodx_main

VALIDATION = Path(__file__).resolve().parents[2] / "validation"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, VALIDATION / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _git_snapshot(root: Path, files: dict[str, bytes]) -> str:
    """Commit ``files`` into a new repository at ``root``; return the commit hash."""
    for rel, blob in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(blob)
    run = lambda *a: subprocess.run(["git", "-C", str(root), *a], check=True,  # noqa: E731
                                    capture_output=True, text=True).stdout.strip()
    run("init", "-q")
    run("add", "-A")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "snapshot")
    return run("rev-parse", "HEAD")


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def _inspect_ok(cohort: Path, *extra) -> None:
    assert neurodx_main(["inspect", str(cohort), *extra]) == 0


def test_prepare_adhd(tmp_path, monkeypatch):
    mod = _load("prepare_adhd")
    rng = np.random.default_rng(0)
    files = {}
    for folder, names, seconds in (("adhd", ["v1p", "v2p"], [7, 6.5]),
                                   ("control", ["v41p", "v42p"], [6.6, 8])):
        for name, sec in zip(names, seconds):
            data = np.round(rng.normal(0, 30, size=(int(sec * 128), 19)))
            files[f"{folder}/{name}.csv"] = _csv(pd.DataFrame(data, columns=map(str, range(19))))
    files["adhd/v3p.csv"] = _csv(pd.DataFrame(np.zeros((128 * 3, 19)),
                                              columns=map(str, range(19))))  # too short
    commit = _git_snapshot(tmp_path / "snap", files)
    monkeypatch.setattr(mod, "COMMIT", commit)
    out = tmp_path / "cohort"
    rec = mod.prepare(tmp_path / "snap" / ".git", out, seconds=5.0)
    assert rec["subjects"] == {"ADHD": 2, "Control": 2}
    assert [s["file"] for s in rec["skipped"]] == ["adhd/v3p.csv"]
    table = pd.read_csv(out / "participants.tsv", sep="\t")
    assert set(table["group"]) == {"ADHD", "Control"}
    # Every subject is cropped to the same length, so duration cannot tell the groups apart.
    lengths = {len(pd.read_csv(out / p)) for p in table["path"]}
    assert lengths == {5 * 128}
    assert json.loads((out / "provenance.json").read_text())["commit"] == commit
    _inspect_ok(out)


def test_prepare_schizophrenia(tmp_path, monkeypatch):
    mod = _load("prepare_schizophrenia")
    # Short phases keep the fixture small; the script's logic does not depend on their length.
    monkeypatch.setattr(mod, "PHASE_SECONDS", {1: 1.0, 2: 2.0, 3: 1.0, 4: 2.0})
    rng = np.random.default_rng(1)
    cols = ([f"{c}[{i + 1}]" for i, c in enumerate(
        ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "F7", "F8", "T3", "T4",
         "T5", "T6", "Fz", "Pz", "Cz"])] + ["Pg1[20]", "Pg2[21]", "EOGR[22]", "EOOGL[23]",
                                            "EMG[24]"])
    files = {"data/Participant Data.csv": b"id,age,sex,category\n1,30,F,Control\n2,40,M,Patient\n"
                                          b"3,35,F,Control\n4,50,M,Patient\n5,20,M,Patient\n"}
    trials = ["id_trial_phase,id,phase,signal_length,event_marker_length,sample_frequency,"
              "duration"]
    for sid, rate in ((1, 200.0), (2, 100.0), (3, 200.0), (4, 200.0)):
        for trial in (1, 2):
            for phase, sec in mod.PHASE_SECONDS.items():
                n = int(sec * rate)
                data = np.clip(rng.normal(0, 100, size=(n, 24)), -325, 325)
                if sid == 4 and trial == 1:
                    data[:, 18] = -325.0        # Cz pinned at the clip level: a dead channel
                files[f"data/signal_data/{sid}_{trial}_{phase}.csv"] = _csv(
                    pd.DataFrame(data, columns=cols))
                trials.append(f"{sid}_{trial}_{phase},{sid},{phase},{n},1,{rate},{sec}")
    files["data/Participant Trial Data.csv"] = ("\n".join(trials) + "\n").encode()
    commit = _git_snapshot(tmp_path / "snap", files)
    monkeypatch.setattr(mod, "COMMIT", commit)
    out = tmp_path / "cohort"
    rec = mod.prepare(tmp_path / "snap" / ".git", out, min_seconds=6.0)
    assert rec["subjects"] == {"SZ": 2, "HC": 2}
    assert rec["labelled_without_signals"] == ["5"]
    assert sum("dead" in s["reason"] for s in rec["skipped"]) == 4
    table = pd.read_csv(out / "participants.tsv", sep="\t")
    # Subject 4 lost its first trial and keeps one (6 s); the others keep two.
    assert {pid: len(p.split(";")) for pid, p in zip(table["participant_id"], table["path"])} \
        == {"sub-01": 8, "sub-02": 8, "sub-03": 8, "sub-04": 4}
    chans = pd.read_csv(out / "sub-01" / "eeg" / "sub-01_task-rest1_run-1_channels.tsv", sep="\t")
    assert dict(zip(chans["name"], chans["type"]))["EOGL"] == "EOG"
    sidecar = json.loads((out / "sub-02" / "eeg" / "sub-02_task-rest1_run-1_eeg.json").read_text())
    assert sidecar["SamplingFrequency"] == 100.0
    _inspect_ok(out, "--min-duration", "1")


def _jpg(value: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16), value, dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def test_prepare_ct_ich(tmp_path, monkeypatch):
    mod = _load("prepare_ct_ich")
    assert mod.split_name("4912") == (49, 12) and mod.split_name("1001") == (100, 1)
    rows = ["PatientNumber,SliceNumber,Intraventricular,Intraparenchymal,Subarachnoid,Epidural,"
            "Subdural,No_Hemorrhage,Fracture_Yes_No"]
    files = {}
    for patient, bleed_slice in ((49, 11), (50, None), (100, 2)):
        for number in range(1, 12):
            bleed = number == bleed_slice
            rows.append(f"{patient},{number},0,{int(bleed)},0,0,0,{int(not bleed)},0")
            if (patient, number) == (50, 3):
                continue                              # a labelled slice without an image
            # The snapshot's folder names are the wrong way round: "Positiv" = no bleed.
            folder = "Negativ" if bleed else "Positiv"
            files[f"Data/Brain/{folder}/{patient}{number}.jpg"] = _jpg(10 * number)
    files["DataPreprocessing/hemorrhage_diagnosis.csv"] = ("\ufeff" + "\n".join(rows) + "\n"
                                                           ).encode()
    commit = _git_snapshot(tmp_path / "snap", files)
    monkeypatch.setattr(mod, "COMMIT", commit)
    out = tmp_path / "cohort"
    rec = mod.prepare(tmp_path / "snap" / ".git", out)
    assert rec["subjects"] == {"hemorrhage": 2, "none": 1}
    assert rec["labelled_slices_without_image"] == 1
    table = pd.read_csv(out / "participants.tsv", sep="\t", dtype=str)
    assert dict(zip(table["participant_id"], table["group"])) == {
        "sub-049": "hemorrhage", "sub-050": "none", "sub-100": "hemorrhage"}
    # Patients have different slice counts, as brain_ct.yaml's shape_policy allows.
    _inspect_ok(out, "--shape-policy", "resample")
    # Slices 1..11 come back in numeric order (slice-2 before slice-10), as the grey levels show.
    from neurodx.io import read_volume
    data = np.asarray(read_volume(out / "sub-049" / "ct").dataobj)
    means = data.mean(axis=(0, 1))
    assert np.all(np.diff(means) > 0)


def test_render_tables_from_results(tmp_path, monkeypatch):
    mod = _load("run_all")
    monkeypatch.setattr(mod, "RESULTS", tmp_path)
    monkeypatch.setattr(mod, "README", tmp_path / "README.md")
    (tmp_path / "README.md").write_text(
        f"# V\n\nprose\n\n{mod.BEGIN}\nSTALE-TABLE\n{mod.END}\ntail\n")
    m = {"balanced_accuracy": 0.75, "ci": {"balanced_accuracy": [0.6, 0.9]},
         "per_class_recall": {"A": 0.7, "B": 0.8}, "roc_auc_ovr": 0.8, "fit_predict_seconds": 3.0}
    test = {"mcnemar_repeat0": {"a_right_b_wrong": 3, "a_wrong_b_right": 1, "p_value": 0.6},
            "corrected_ttest": {"mean_difference": 0.05, "p_value": 0.4}}
    record = {"name": "adhd", "title": "T", "quick": False,
              "snapshot": {"repository": "https://github.com/o/r", "commit": "a" * 40},
              "subjects": {"A": 5, "B": 5}, "n_subjects": 10,
              "cv": {"scheme": "stratified_kfold", "n_splits": 5, "n_repeats": 2,
                     "n_folds_total": 10, "mean_train_subjects": 8, "mean_test_subjects": 2},
              "routes": {"r1": m}, "peers": {"p": {**m, "paired_vs_routes": [
                  {"a": "p", "b": "r1", **test}]}},
              "paired_comparisons": [], "wall_seconds": {"compare": 10.0},
              "load_average": [1.0], "cpu_count": 2, "commands": {"compare": "neurodx compare x"},
              "set_values": {"a=1": "why"}, "quality_notes": ["note one"], "literature": None,
              "neurodx_version": "0", "neurodx_commit": "b" * 40, "uncommitted_changes": False}
    (tmp_path / "adhd.json").write_text(json.dumps(record))
    mod.render()
    text = (tmp_path / "README.md").read_text()
    assert "STALE-TABLE" not in text and text.startswith("# V\n\nprose") and text.endswith("tail\n")
    assert "**75.0** [60.0, 90.0]" in text and "note one" in text and "`p` | `r1` | 3 | 1" in text
