"""The independent peers on tiny SYNTHETIC cohorts and a fake neurodx run's folds."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

VALIDATION = Path(__file__).resolve().parents[2] / "validation"


def _load(path: Path):
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def _fake_run(run: Path, groups: dict[str, str], route: str = "r") -> None:
    """predictions.csv + metrics.json of a 2-fold, 1-repeat run over ``groups``."""
    run.mkdir(parents=True)
    classes = sorted(set(groups.values()))
    rows = []
    for k, (pid, g) in enumerate(sorted(groups.items())):
        rows.append({"participant_id": pid, "repeat": 0, "fold": (k // 2) % 2, "route": route,
                     "true": g, "predicted": classes[0],
                     **{f"proba_{c}": float(c == classes[0]) for c in classes}})
    pd.DataFrame(rows).to_csv(run / "predictions.csv", index=False)
    n = len(groups)
    (run / "metrics.json").write_text(json.dumps({
        "classes": classes, "excluded_subjects": [],
        "cv": {"mean_train_subjects": n / 2, "mean_test_subjects": n / 2}}))


def test_eeg_peer_on_same_folds(tmp_path):
    snap = _load(VALIDATION / "_snapshot.py")
    peer = _load(VALIDATION / "peers" / "eeg_mne_pyriemann.py")
    rng = np.random.default_rng(0)
    names = ["Fz", "Cz", "Pz", "O1", "O2", "EOG"]
    groups, rows = {}, []
    for k in range(8):
        pid, group = f"sub-{k:02d}", "A" if k % 2 else "B"
        data = rng.normal(0, 20 + 10 * (group == "A"), size=(128 * 12, len(names)))
        snap.write_text_eeg(tmp_path / "cohort" / pid / "eeg", f"{pid}_task-rest", data, names,
                            ["EEG"] * 5 + ["EOG"], 128.0, "rest")
        groups[pid] = group
        rows.append({"participant_id": pid, "group": group,
                     "path": f"{pid}/eeg/{pid}_task-rest_eeg.csv"})
    snap.write_participants(tmp_path / "cohort", rows, "t", "t")
    _fake_run(tmp_path / "run", groups)
    config = tmp_path / "c.yaml"
    config.write_text("windows:\n  bands: {alpha: [8, 13], beta: [13, 30]}\n")
    assert peer.main([str(tmp_path / "cohort"), str(tmp_path / "run"), "--config", str(config),
                      "--bootstrap", "20"]) == 0
    out = pd.read_csv(tmp_path / "run" / "peer_mne_pyriemann" / "predictions.csv")
    fake = pd.read_csv(tmp_path / "run" / "predictions.csv")
    # Same subjects in the same (repeat, fold) as the run's route.
    assert sorted(zip(out.participant_id, out.fold)) == sorted(zip(fake.participant_id, fake.fold))
    m = json.loads((tmp_path / "run" / "peer_mne_pyriemann" / "metrics.json").read_text())
    assert 0 <= m["balanced_accuracy"] <= 1 and m["paired_vs_routes"][0]["b"] == "r"


def test_ct_peer_on_same_folds(tmp_path):
    peer = _load(VALIDATION / "peers" / "ct_plain_cnn.py")
    rng = np.random.default_rng(1)
    groups, rows = {}, []
    for k in range(6):
        pid, group = f"sub-{k:03d}", "hemorrhage" if k % 2 else "none"
        folder = tmp_path / "cohort" / pid / "ct"
        folder.mkdir(parents=True)
        for n in range(1, 4):
            img = rng.integers(0, 255, size=(24, 24)).astype(np.uint8)
            Image.fromarray(img).save(folder / f"{pid}_slice-{n}.jpg")
        groups[pid] = group
        rows.append({"participant_id": pid, "group": group, "path": f"{pid}/ct"})
    pd.DataFrame(rows).to_csv(tmp_path / "cohort" / "participants.tsv", sep="\t", index=False)
    _fake_run(tmp_path / "run", groups)
    assert peer.main([str(tmp_path / "cohort"), str(tmp_path / "run"), "--epochs", "1",
                      "--bootstrap", "20"]) == 0
    out = pd.read_csv(tmp_path / "run" / "peer_plain_cnn" / "predictions.csv")
    assert len(out) == 6 and set(out["predicted"]) <= {"hemorrhage", "none"}
