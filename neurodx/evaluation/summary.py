"""The comparison's summaries: per-route metrics, the best route and paired tests.

Also the per-subject count of windows that ``BAD_`` annotations remove.
"""
from __future__ import annotations

import numpy as np

from ..preprocessing.windows import clean_window_mask, window_starts
from .metrics import bootstrap_ci, classification_metrics, format_per_class
from .statistics import corrected_resampled_ttest, mcnemar_test

__all__ = ["route_metrics", "best_route", "paired_comparisons", "bad_annotation_summary"]


def route_metrics(predictions, route, classes, cv_result: dict, stats: dict, seed: int) -> dict:
    """Pooled metrics of one route's predictions, with subject-bootstrap CIs.

    ``cv_result`` holds the route's ``split_scores`` (balanced accuracy per fold),
    ``records`` (per fold: seconds, training history), ``seconds`` (fit + predict
    time) and ``diagnostics`` (CNN random-matrix diagnostics per fold, or empty).
    """
    p = predictions[predictions["route"] == route.name]
    proba_cols = [f"proba_{c}" for c in classes]
    proba = p[proba_cols].to_numpy() if set(proba_cols) <= set(p.columns) and \
        p[proba_cols].notna().all().all() else None
    m = classification_metrics(p["true"], p["predicted"], proba, classes)
    m["ci"] = bootstrap_ci(p["participant_id"], p["true"], p["predicted"], proba, classes,
                           n_boot=stats["bootstrap"], level=stats["level"], seed=seed)
    m["per_class_text"] = format_per_class(m)
    m["split_balanced_accuracy"] = cv_result["split_scores"]
    m["fit_predict_seconds"] = cv_result["seconds"]
    records = cv_result["records"]
    m["fold_seconds"] = [r["seconds"] for r in records]
    if any(r["history"] for r in records):
        m["training_history"] = [r for r in records if r["history"]]
    m["description"] = route.description
    if cv_result["diagnostics"]:
        # neurodx.models imports torch: only runs with CNN diagnostics reach here
        from ..models.diagnostics import summarize_diagnostics

        m["diagnostics"] = [{"repeat": d["repeat"], "fold": d["fold"],
                             **summarize_diagnostics(d)} for d in cv_result["diagnostics"]]
    return m


def best_route(per_route: dict) -> str:
    """The route of highest pooled balanced accuracy.

    Exact ties (rounding noise aside) go to the route listed first in the config, so
    the choice never depends on float summation order.
    """
    order = list(per_route)
    return max(order, key=lambda r: (round(per_route[r]["balanced_accuracy"], 9),
                                     -order.index(r)))


def paired_comparisons(predictions, best: str, routes, split_scores: dict, n_train: float,
                       n_test: float) -> list[dict]:
    """The best route against each other route: McNemar on the first repeat's
    predictions and the corrected resampled t-test on per-fold scores."""
    comparisons = []
    first = predictions[predictions["repeat"] == 0]
    for other in routes:
        if other == best:
            continue
        a = first[first["route"] == best].sort_values(["participant_id", "fold"])
        b = first[first["route"] == other].sort_values(["participant_id", "fold"])
        comparisons.append({
            "a": best, "b": other,
            "mcnemar_repeat0": mcnemar_test(a["true"].to_numpy() == a["predicted"].to_numpy(),
                                            b["true"].to_numpy() == b["predicted"].to_numpy()),
            "corrected_ttest": corrected_resampled_ttest(split_scores[best], split_scores[other],
                                                         n_train=n_train, n_test=n_test),
        })
    return comparisons


def bad_annotation_summary(check, length: float, overlap: float) -> dict:
    """Per subject with ``BAD_`` spans: their number, seconds, and windows they remove.

    Windows are counted on the study's ``windows.length``/``overlap`` grid (``length``
    in seconds) at each file's own rate (routes with their own window settings drop
    their own count).
    """
    rec = check.recordings.set_index("file") if len(check.recordings) else None
    out = {}
    for pid, entry in check.bad_annotations.items():
        dropped = total = 0
        for file, spans in entry["spans_at"].items():
            sfreq, n_times = float(rec.loc[file, "sfreq"]), int(rec.loc[file, "n_times"])
            n_win = int(round(float(length) * sfreq))
            step = max(1, int(round(n_win * (1 - float(overlap)))))
            starts = window_starts(n_times, n_win, step)
            keep = clean_window_mask(starts, n_win, np.asarray(spans, dtype=np.int64))
            dropped += int((~keep).sum())
            total += len(starts)
        out[pid] = {"spans": entry["spans"], "seconds": round(entry["seconds"], 3),
                    "windows_dropped": dropped, "windows_total": total}
    return out
