"""The folds of a neurodx run, and scoring a peer's predictions on them with neurodx's metrics.

A peer reads the run's ``predictions.csv``: the subjects of each ``(repeat, fold)``
are its test set, and the run's other subjects its training set, so the peer and
neurodx's routes see exactly the same splits. Its predictions are scored with
neurodx's own metric, bootstrap and paired-test functions so the figures are
comparable.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from neurodx.evaluation.metrics import bootstrap_ci, classification_metrics, format_per_class
from neurodx.evaluation.statistics import corrected_resampled_ttest, mcnemar_test

__all__ = ["run_subjects", "folds_of_run", "score_peer"]


def run_subjects(run_dir: Path, cohort: Path) -> pd.DataFrame:
    """``participant_id``/``group``/``path`` of the subjects the run used (its errors excluded)."""
    table = pd.read_csv(cohort / "participants.tsv", sep="\t", dtype=str)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # Entries read "ERROR: <participant_id> [<file>]: <reason>".
    excluded = {str(e).split(": ", 1)[-1].split()[0].rstrip(":")
                for e in metrics.get("excluded_subjects", [])}
    return table[~table["participant_id"].isin(excluded)].reset_index(drop=True)


def folds_of_run(run_dir: Path, subjects) -> list[tuple[int, int, list[str], list[str]]]:
    """``(repeat, fold, train_ids, test_ids)`` for every split of the run."""
    pred = pd.read_csv(run_dir / "predictions.csv", dtype={"participant_id": str})
    first_route = pred["route"].iloc[0]
    pred = pred[pred["route"] == first_route]
    subjects = list(subjects)
    folds = []
    for (repeat, fold), rows in pred.groupby(["repeat", "fold"], sort=True):
        test = list(rows["participant_id"])
        unknown = set(test) - set(subjects)
        if unknown:
            raise SystemExit(f"{run_dir}: predictions name subjects the cohort lacks: "
                             f"{sorted(unknown)[:3]}")
        folds.append((int(repeat), int(fold), [s for s in subjects if s not in set(test)], test))
    return folds


def _split_scores(frame: pd.DataFrame, classes) -> list[float]:
    return [classification_metrics(g["true"], g["predicted"], classes=classes)["balanced_accuracy"]
            for _, g in frame.groupby(["repeat", "fold"], sort=True)]


def score_peer(run_dir: Path, peer: pd.DataFrame, name: str, description: str,
               seconds: float, n_boot: int = 1000, seed: int = 0) -> dict:
    """Metrics of ``peer`` predictions (predictions.csv columns) and paired tests vs each route.

    Writes ``<run_dir>/peer_<name>/predictions.csv`` and ``metrics.json``; returns the metrics.
    """
    metrics_run = json.loads((run_dir / "metrics.json").read_text())
    classes = metrics_run["classes"]
    proba = peer[[f"proba_{c}" for c in classes]].to_numpy(dtype=float)
    m = classification_metrics(peer["true"], peer["predicted"], proba, classes=classes)
    m["ci"] = bootstrap_ci(peer["participant_id"], peer["true"], peer["predicted"], proba,
                           classes=classes, n_boot=n_boot, seed=seed)
    m["per_class_text"] = format_per_class(m)
    m["split_balanced_accuracy"] = _split_scores(peer, classes)
    m["fit_predict_seconds"] = seconds
    m["description"] = description
    routes = pd.read_csv(run_dir / "predictions.csv", dtype={"participant_id": str})
    cv = metrics_run["cv"]
    key = ["repeat", "fold", "participant_id"]
    paired = []
    for route, rows in routes.groupby("route", sort=False):
        both = peer.merge(rows, on=key, suffixes=("_peer", "_route"))
        if len(both) != len(peer):
            raise SystemExit(f"{run_dir}: route {route} and peer {name} were not tested on the "
                             "same subjects")
        rep0 = both[both["repeat"] == both["repeat"].min()]
        paired.append({
            "a": name, "b": route,
            "mcnemar_repeat0": mcnemar_test(rep0["true_peer"] == rep0["predicted_peer"],
                                            rep0["true_route"] == rep0["predicted_route"]),
            "corrected_ttest": corrected_resampled_ttest(
                m["split_balanced_accuracy"], _split_scores(rows, classes),
                n_train=cv["mean_train_subjects"], n_test=cv["mean_test_subjects"])})
    m["paired_vs_routes"] = paired
    out = run_dir / f"peer_{name}"
    out.mkdir(exist_ok=True)
    peer.to_csv(out / "predictions.csv", index=False)
    (out / "metrics.json").write_text(json.dumps(m, indent=1, default=float) + "\n")
    return m
