"""Cross-validation of one route on given subject-level folds.

Each fold fits a fresh clone of the route's fitted part (:attr:`Route.cv_estimator`)
on the fold's training subjects only and predicts its test subjects; the stateless
steps were applied once per subject before (:func:`neurodx.study.extract_subject`).
"""
from __future__ import annotations

import tempfile
import time

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from .._threads import single_threaded_blas
from .._workers import workers_end_with_this_process
from ..errors import ConfigError
from ..study.routes import Route
from .metrics import classification_metrics

__all__ = ["cross_validate", "cross_validate_routes", "fit_predict"]


def _fit_fold(route: Route, X: list, y: np.ndarray, fold, diagnostics: bool = True):
    """A fresh clone of the route's fitted part, fitted on the fold's training subjects.

    ``X`` holds each subject's stateless outputs (for ``rmt_les``, its window spectra),
    so everything that learns from subjects (the LES step's MP reference, scalers,
    classifiers) learns from this fold's training subjects only. ``diagnostics=False``
    turns off the CNNs' random-matrix diagnostics (permutation refits only predict).
    """
    est = clone(route.cv_estimator)
    if not diagnostics:
        est.set_params(**{k: False for k in est.get_params()
                          if k == "diagnostics" or k.endswith("__diagnostics")})
    X_train, y_train = [X[i] for i in fold.train], y[fold.train]
    if not _grid_sets_only_the_classifier(est):
        return est.fit(X_train, y_train)
    # Every point of the grid refits the same steps before the classifier (the tangent
    # space's reference mean: most of a tuned route's time) on the same inner training
    # subjects. scikit-learn's Pipeline memory fits them once per inner fold, in a private
    # folder of this fold removed afterwards: the same fits, so the same predictions.
    with tempfile.TemporaryDirectory(prefix="neurodx-fold-") as cache:
        est.set_params(estimator__memory=cache)
        est.fit(X_train, y_train)
    est.set_params(estimator__memory=None)
    if hasattr(est, "best_estimator_"):
        est.best_estimator_.set_params(memory=None)
    return est


def _grid_sets_only_the_classifier(est) -> bool:
    """A nested search (GridSearchCV over a Pipeline) whose grid only sets the last step,
    with earlier steps of importable classes (the cache pickles them), none of which
    already reuses its fits in memory (``BandTangentSpace``: hashing and writing its
    inputs and outputs to the disk cache cost ~6 % of a region fold, measured)."""
    if not isinstance(est, GridSearchCV) or not isinstance(est.estimator, Pipeline) \
            or len(est.estimator.steps) < 2 or est.estimator.memory is not None:
        return False
    if any(getattr(step, "_memoizes_fits", False) for _, step in est.estimator.steps[:-1]):
        return False
    last = est.estimator.steps[-1][0]
    grids = est.param_grid if isinstance(est.param_grid, list) else [est.param_grid]
    importable = all(type(step).__module__.split(".")[0] in ("neurodx", "sklearn", "pyriemann")
                     for _, step in est.estimator.steps[:-1])
    return importable and all(k.startswith(f"{last}__") for g in grids for k in g)


def fit_predict(route: Route, X: list, y: np.ndarray, fold, classes, with_proba=True,
                 diagnostics: bool = True):
    """Fit a fresh clone of the route on the fold's training subjects; predict its test ones.

    Returns predicted labels, when asked and available probabilities in ``classes``
    order (else None), and the fitted estimator.
    """
    est = _fit_fold(route, X, y, fold, diagnostics)
    test = [X[i] for i in fold.test]
    pred = np.asarray(est.predict(test))
    if not with_proba or not hasattr(est, "predict_proba"):
        return pred, None, est
    order = [list(est.classes_).index(c) for c in classes]
    return pred, np.asarray(est.predict_proba(test))[:, order], est


def _final_step(est):
    est = getattr(est, "best_estimator_", est)           # tuned routes: the refitted one
    return est[-1] if hasattr(est, "steps") else est


def _fold_diagnostics(est, fold) -> dict | None:
    """The CNN's random-matrix diagnostics of one fold (``diagnostics: true``), if any."""
    diag = getattr(_final_step(est), "diagnostics_", None)
    return None if diag is None else {"repeat": fold.repeat, "fold": fold.fold, **diag}


def _fold_record(est, fold, seconds: float) -> dict:
    """One fold's fit+predict wall time and, for a CNN, its per-epoch training history."""
    history = getattr(_final_step(est), "history_", None)
    if history is not None:
        # Numbers only (other trainers' records may hold per-batch lists): one row per epoch.
        history = [{k: float(v) for k, v in dict(h).items()
                    if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)}
                   for h in history]
    return {"repeat": fold.repeat, "fold": fold.fold, "seconds": seconds,
            "history": history or None}


def _runs_torch(route: Route) -> bool:
    """Whether the route holds a CNN estimator (``neurodx.models``), which uses torch."""
    est = route.estimator
    steps = [step for _, step in est.steps] if hasattr(est, "steps") else [est]
    return any(type(step).__module__.startswith("neurodx.models") for step in steps)


def _fold_outcome(route: Route, X: list, y: np.ndarray, fold, classes):
    """One fold's predicted labels, probabilities, CNN diagnostics and record (time,
    training history); no estimator: a parallel worker sends back only these."""
    # BLAS single-threaded in each fold: with n_jobs workers on n_jobs cores, BLAS
    # threads would only multiply the threads competing for them (see neurodx._threads).
    t0 = time.perf_counter()
    with single_threaded_blas():
        pred, proba, est = fit_predict(route, X, y, fold, classes)
    record = _fold_record(est, fold, time.perf_counter() - t0)
    return pred, proba, _fold_diagnostics(est, fold), record


def _run_folds(route: Route, X: list, y: np.ndarray, folds, classes, n_jobs: int = 1):
    """``_fold_outcome`` of every fold, in fold order.

    RMT routes run their folds in parallel on ``n_jobs`` loky worker processes
    (each fold's fit is independent and seeded, so the predictions do not depend on
    ``n_jobs``). CNN routes run their folds one after the other in this process:
    torch's intra-op threads already use every core
    (:func:`neurodx.models.training.torch_session`), and torch inside several
    worker processes would oversubscribe them.
    """
    if n_jobs == 1 or len(folds) < 2 or _runs_torch(route):
        for f in folds:
            yield _fold_outcome(route, X, y, f, classes)
        return
    with workers_end_with_this_process():
        yield from Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_fold_outcome)(route, X, y, f, classes) for f in folds)


def _check_inner_splits(route: Route, y: np.ndarray, folds) -> None:
    if route.param_grid:
        smallest = min(int(np.min(np.unique(y[f.train], return_counts=True)[1])) for f in folds)
        if smallest < route.inner_splits:
            raise ConfigError(f"routes.{route.name}.tune: nested CV needs at least "
                              f"inner_splits={route.inner_splits} training subjects per class, "
                              f"but a fold has only {smallest}; lower tune.inner_splits or "
                              "use fewer outer folds")


def cross_validate(route: Route, X: list, y: np.ndarray, folds, classes,
                   bar=None, n_jobs: int = 1) -> tuple[list, list, list, list]:
    """Every fold of one route: prediction rows, per-fold balanced accuracy, CNN
    diagnostics and fold records (time, training history), in fold order."""
    _check_inner_splits(route, y, folds)
    return _collect(route, y, folds, classes, _run_folds(route, X, y, folds, classes, n_jobs),
                    bar)


def cross_validate_routes(routes: list, Xs: list, y: np.ndarray, folds, classes, bar=None,
                          n_jobs: int = 1) -> list:
    """:func:`cross_validate` of every route (``Xs[k]``: route ``k``'s inputs), the RMT
    routes' folds in one pool of ``n_jobs`` workers.

    Route after route, each route's last wave of folds left workers idle (5 folds on 2
    workers: 3 waves); one pool over every (route, fold) keeps both busy, the tuned
    routes' folds (nested searches, the longest) dispatched first. Each fit is the same
    independent, seeded fit as in :func:`cross_validate`, so the predictions do not
    change. Returns, per route in ``routes`` order, :func:`cross_validate`'s tuple and
    the route's seconds: wall time when its folds ran alone, else the sum of its folds'
    fit+predict seconds (their wall times overlap with other routes' folds).
    """
    for route in routes:
        _check_inner_splits(route, y, folds)
    pooled = [k for k, r in enumerate(routes) if n_jobs > 1 and not _runs_torch(r)]
    out: dict = {}
    if len(pooled) > 1:
        order = sorted(pooled, key=lambda k: not routes[k].param_grid)   # tuned first
        tasks = [(k, j) for k in order for j in range(len(folds))]
        outcomes = {k: [None] * len(folds) for k in pooled}
        with workers_end_with_this_process():
            results = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_fold_outcome)(routes[k], Xs[k], y, folds[j], classes)
                for k, j in tasks)
            for (k, j), outcome in zip(tasks, results):
                outcomes[k][j] = outcome
                if bar is not None:
                    bar.set_postfix_str(routes[k].name)
                    bar.update(1)
        for k in pooled:
            collected = _collect(routes[k], y, folds, classes, outcomes[k])
            out[k] = (*collected, float(sum(r["seconds"] for r in collected[3])))
    for k, route in enumerate(routes):
        if k in out:
            continue
        if bar is not None:
            bar.set_postfix_str(route.name)
        t0 = time.perf_counter()
        collected = cross_validate(route, Xs[k], y, folds, classes, bar, n_jobs=n_jobs)
        out[k] = (*collected, time.perf_counter() - t0)
    return [out[k] for k in range(len(routes))]


def _collect(route: Route, y: np.ndarray, folds, classes, outcomes, bar=None):
    """Prediction rows, split scores, diagnostics and records from fold outcomes."""
    rows, split_scores, diagnostics, records = [], [], [], []
    for f, (pred, proba, diag, record) in zip(folds, outcomes):
        records.append(record)
        if diag is not None:
            diagnostics.append(diag)
        for k, i in enumerate(f.test):
            rows.append({"index": int(i), "repeat": f.repeat, "fold": f.fold,
                         "route": route.name, "true": y[i], "predicted": pred[k],
                         **({f"proba_{c}": float(proba[k, j]) for j, c in enumerate(classes)}
                            if proba is not None else {})})
        split_scores.append(classification_metrics(y[f.test], pred, classes=classes)
                            ["balanced_accuracy"])
        if bar is not None:
            bar.update(1)
    return rows, split_scores, diagnostics, records
