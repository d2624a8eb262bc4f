"""Classification metrics on subject predictions, with subject-bootstrap confidence intervals.

Point estimates pool every out-of-fold prediction. Confidence intervals resample
*subjects* (with all their predictions across repeats), because subjects, not
windows or slices, are the independent units.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import confusion_matrix, f1_score, recall_score, roc_auc_score

__all__ = ["classification_metrics", "bootstrap_ci", "format_per_class", "METRICS"]

METRICS = ("balanced_accuracy", "accuracy", "macro_f1", "roc_auc_ovr")


def classification_metrics(y_true, y_pred, proba=None, classes: Sequence | None = None) -> dict:
    """Per-class recall, balanced accuracy, accuracy, macro F1, one-vs-rest ROC AUC, confusion.

    Parameters
    ----------
    y_true, y_pred : array-like of labels
    proba : ndarray of shape (n, n_classes), optional
        Class probabilities in ``classes`` order, for ROC AUC.
    classes : sequence, optional
        Class order (default: sorted labels of ``y_true``).
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    classes = list(np.unique(y_true) if classes is None else classes)
    recalls = recall_score(y_true, y_pred, labels=classes, average=None, zero_division=0)
    present = np.isin(classes, y_true)
    out = {
        "per_class_recall": {str(c): float(r) for c, r in zip(classes, recalls)},
        # Mean recall over the classes present in y_true, as sklearn's balanced_accuracy_score
        # (computed here so that bootstrap draws missing a class need no special case).
        "balanced_accuracy": float(recalls[present].mean()),
        "accuracy": float(np.mean(y_true == y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=classes, average="macro",
                                   zero_division=0)),
        "roc_auc_ovr": float("nan"),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=classes).tolist(),
        "classes": [str(c) for c in classes],
    }
    if proba is not None and len(np.unique(y_true)) == len(classes):
        proba = np.asarray(proba, dtype=float)
        if len(classes) == 2:
            out["roc_auc_ovr"] = float(roc_auc_score(y_true == classes[1], proba[:, 1]))
        else:
            p = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-12, None)
            out["roc_auc_ovr"] = float(roc_auc_score(y_true, p, labels=classes,
                                                     multi_class="ovr"))
    return out


def _auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Binary ROC AUC as the Mann-Whitney statistic (ties count one half)."""
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _scalar_metrics(t: np.ndarray, p: np.ndarray, proba, n_classes: int) -> tuple[dict, np.ndarray]:
    """The scalar metrics of :func:`classification_metrics` on integer-coded labels.

    Same definitions, in plain numpy: the bootstrap calls this thousands of times,
    where scikit-learn's input validation would dominate the run time.
    """
    cm = np.bincount(t * n_classes + p, minlength=n_classes ** 2).reshape(n_classes, n_classes)
    support, predicted, hits = cm.sum(axis=1), cm.sum(axis=0), np.diag(cm)
    recall = np.divide(hits, support, out=np.zeros(n_classes), where=support > 0)
    precision = np.divide(hits, predicted, out=np.zeros(n_classes), where=predicted > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(n_classes), where=denom > 0)
    out = {"balanced_accuracy": float(recall[support > 0].mean()),
           "accuracy": float(np.mean(t == p)), "macro_f1": float(f1.mean()),
           "roc_auc_ovr": float("nan")}
    if proba is not None and np.all(support > 0):
        if n_classes == 2:
            out["roc_auc_ovr"] = _auc(t == 1, proba[:, 1])
        else:
            q = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-12, None)
            out["roc_auc_ovr"] = float(np.mean([_auc(t == k, q[:, k])
                                                for k in range(n_classes)]))
    return out, recall


def bootstrap_ci(subject_ids, y_true, y_pred, proba=None, classes=None, *, n_boot: int = 1000,
                 level: float = 0.95, seed: int = 0) -> dict:
    """Percentile confidence intervals of :func:`classification_metrics` over subjects.

    Rows sharing a subject ID (several repeats) are resampled together.

    Returns
    -------
    dict
        ``{metric: (low, high)}`` for the scalar metrics and ``per_class_recall``.
    """
    subject_ids = np.asarray(subject_ids)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    classes = list(np.unique(y_true) if classes is None else classes)
    code = {c: k for k, c in enumerate(classes)}
    unknown = sorted({str(v) for v in np.concatenate([y_true, y_pred]) if v not in code})
    if unknown:
        raise ValueError(f"labels {unknown} are not among the classes {classes}")
    t = np.asarray([code[v] for v in y_true], dtype=np.int64)
    p = np.asarray([code[v] for v in y_pred], dtype=np.int64)
    proba = None if proba is None else np.asarray(proba, dtype=float)
    uniq, inverse = np.unique(subject_ids, return_inverse=True)
    rows_of = [np.flatnonzero(inverse == k) for k in range(len(uniq))]
    rng = np.random.default_rng(seed)
    draws = {m: [] for m in METRICS}
    recall_draws = []
    for _ in range(n_boot):
        pick = np.concatenate([rows_of[k] for k in rng.integers(0, len(uniq), len(uniq))])
        m, recall = _scalar_metrics(t[pick], p[pick], None if proba is None else proba[pick],
                                    len(classes))
        for name in METRICS:
            draws[name].append(m[name])
        recall_draws.append(recall)
    alpha = (1 - level) / 2
    ci = {}
    for name, values in draws.items():
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        ci[name] = (float(np.quantile(v, alpha)), float(np.quantile(v, 1 - alpha))) if v.size \
            else (float("nan"), float("nan"))
    r = np.asarray(recall_draws)
    ci["per_class_recall"] = {str(c): (float(np.quantile(r[:, i], alpha)),
                                       float(np.quantile(r[:, i], 1 - alpha)))
                              for i, c in enumerate(classes)}
    return ci


def format_per_class(metrics: dict) -> str:
    """The reference tables' form: ``"HC 0.949 / FES 0.895 / CHR 0.729, average 85.7%"``.

    "average" is the mean of per-class recalls, i.e. the balanced accuracy.
    """
    parts = " / ".join(f"{c} {r:.3f}" for c, r in metrics["per_class_recall"].items())
    return f"{parts}, average {100 * metrics['balanced_accuracy']:.1f}%"
