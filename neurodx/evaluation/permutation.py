"""Label-permutation test of one route on the comparison's folds."""
from __future__ import annotations

import time

import numpy as np
from joblib import Parallel, delayed

from .._logging import progress
from .._threads import single_threaded_blas
from .cross_validation import fit_predict
from .metrics import classification_metrics

__all__ = ["permutation_pvalue"]


def _null_score(route, X, y_perm, folds, classes) -> float:
    scores = []
    for f in folds:
        # one BLAS thread per worker, as the comparison's folds (see neurodx._threads)
        with single_threaded_blas():
            pred, _, _ = fit_predict(route, X, y_perm, f, classes, with_proba=False,
                                      diagnostics=False)
        scores.append(classification_metrics(y_perm[f.test], pred, classes=classes)
                      ["balanced_accuracy"])
    return float(np.mean(scores))


def permutation_pvalue(route, X, y, folds, classes, split_scores, n_perm, seed,
                        n_jobs=1) -> dict:
    """Label-permutation test: refit the route on shuffled labels with the same folds.

    Uses the first repeat's folds only (a full partition of the subjects; the other
    repeats add cost, not information about the null), for the observed score too.
    Permutations are drawn up front, so the p-value does not depend on ``n_jobs``.
    """
    first = [k for k, f in enumerate(folds) if f.repeat == folds[0].repeat]
    folds = [folds[k] for k in first]
    observed = float(np.mean([split_scores[k] for k in first]))
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(y) for _ in range(n_perm)]
    null = np.asarray(list(progress(
        Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_null_score)(route, X, y_perm, folds, classes) for y_perm in perms),
        desc=f"permutations ({route.name})", total=n_perm, unit="perm")))
    return {"route": route.name, "n_permutations": n_perm, "folds": "first repeat",
            "observed": observed,
            "null_mean": float(null.mean()) if n_perm else float("nan"),
            "p_value": float((1 + np.sum(null >= observed)) / (1 + n_perm)),
            "seconds": time.perf_counter() - t0}
