"""Paired comparison of routes evaluated on the same folds, and permutation tests."""
from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["mcnemar_test", "corrected_resampled_ttest"]


def mcnemar_test(correct_a, correct_b) -> dict:
    """Exact McNemar test on paired per-subject correctness of two routes.

    Parameters
    ----------
    correct_a, correct_b : array-like of bool, shape (n_subjects,)
        Whether each route classified each subject correctly (same subjects, same order).

    Returns
    -------
    dict
        ``b`` (A right, B wrong), ``c`` (A wrong, B right) and the two-sided exact
        binomial p-value on the discordant pairs (1.0 when there are none).
    """
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired arrays differ in shape: {a.shape} vs {b.shape}")
    n01 = int(np.sum(a & ~b))
    n10 = int(np.sum(~a & b))
    p = 1.0 if n01 + n10 == 0 else float(stats.binomtest(n01, n01 + n10, 0.5).pvalue)
    return {"a_right_b_wrong": n01, "a_wrong_b_right": n10, "p_value": p}


def corrected_resampled_ttest(scores_a, scores_b, n_train: int, n_test: int) -> dict:
    """Nadeau & Bengio (2003) corrected resampled t-test on per-split scores.

    The variance of the mean difference over J resampled splits is inflated by
    ``n_test / n_train`` to account for overlapping training sets:
    ``t = mean(d) / sqrt((1/J + n_test/n_train) * var(d))`` with J - 1 degrees of freedom.

    Parameters
    ----------
    scores_a, scores_b : array-like, shape (n_splits,)
        A score per split (same splits, same order) for each route.
    n_train, n_test : int
        Subjects in a training and a test set (averages if they vary).
    """
    d = np.asarray(scores_a, dtype=float) - np.asarray(scores_b, dtype=float)
    j = d.size
    if j < 2:
        return {"mean_difference": float(d.mean()) if j else float("nan"), "t": float("nan"),
                "df": max(j - 1, 0), "p_value": float("nan")}
    var = d.var(ddof=1)
    mean = float(d.mean())
    if var == 0:
        return {"mean_difference": mean, "t": float("inf") if mean else 0.0, "df": j - 1,
                "p_value": 0.0 if mean else 1.0}
    t = mean / np.sqrt((1 / j + n_test / n_train) * var)
    p = float(2 * stats.t.sf(abs(t), df=j - 1))
    return {"mean_difference": mean, "t": float(t), "df": j - 1, "p_value": p}
