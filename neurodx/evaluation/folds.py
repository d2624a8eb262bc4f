"""Subject-level cross-validation folds, shared by every route of a comparison.

Each sample is a subject, so no split can put one subject's windows or slices in
both train and test. Folds are materialised once (as index arrays) and handed to
every route, which makes "identical folds" a fact, not a convention.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import (LeaveOneGroupOut, RepeatedStratifiedKFold,
                                     StratifiedShuffleSplit)

from ..errors import ConfigError

__all__ = ["Fold", "make_folds", "SCHEMES"]

SCHEMES = ("stratified_kfold", "holdout", "leave_one_site_out")


@dataclass(frozen=True)
class Fold:
    """One train/test split of subjects (indices into the cohort's subject list)."""

    repeat: int
    fold: int
    train: np.ndarray
    test: np.ndarray


def make_folds(y, *, scheme: str = "stratified_kfold", n_splits: int = 5, n_repeats: int = 1,
               test_size: float = 0.25, sites=None, seed: int = 0) -> list[Fold]:
    """Build subject-level folds.

    Parameters
    ----------
    y : array-like of shape (n_subjects,)
        Group labels.
    scheme : {"stratified_kfold", "holdout", "leave_one_site_out"}
        ``stratified_kfold``: repeated stratified K-fold (each subject tested once
        per repeat). ``holdout``: the reference protocols, a random stratified
        ``test_size`` split per class (0.25 for 75/25, 0.2 for 80/20) repeated
        ``n_repeats`` times. ``leave_one_site_out``: train on all sites but one.
    sites : array-like, optional
        Site per subject; required for ``leave_one_site_out``.
    seed : int
        Seeds the shuffling; the same seed gives the same folds.
    """
    y = np.asarray(y)
    n = len(y)
    if scheme not in SCHEMES:
        raise ConfigError(f"unknown CV scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ConfigError(f"need at least two groups to classify, got {list(classes)}")
    idx = np.zeros(n)
    folds = []
    if scheme == "stratified_kfold":
        if counts.min() < n_splits:
            raise ConfigError(f"{n_splits}-fold CV needs at least {n_splits} subjects per group; "
                              f"the smallest group ({classes[counts.argmin()]}) has {counts.min()}")
        cv = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
        for k, (train, test) in enumerate(cv.split(idx, y)):
            folds.append(Fold(k // n_splits, k % n_splits, train, test))
    elif scheme == "holdout":
        if not 0 < test_size < 1:
            raise ConfigError(f"test_size must be in (0, 1), got {test_size}")
        if (np.floor(counts * test_size) < 1).any():
            raise ConfigError(f"a {test_size:.0%} test split leaves no test subject for group "
                              f"{classes[np.argmin(counts * test_size)]}")
        cv = StratifiedShuffleSplit(n_splits=n_repeats, test_size=test_size, random_state=seed)
        for r, (train, test) in enumerate(cv.split(idx, y)):
            folds.append(Fold(r, 0, train, test))
    else:
        if sites is None or any(s is None for s in sites):
            raise ConfigError("leave_one_site_out needs a 'site' for every subject "
                              "(participants.tsv column 'site')")
        sites = np.asarray(sites)
        if len(np.unique(sites)) < 2:
            raise ConfigError("leave_one_site_out needs at least two sites")
        for k, (train, test) in enumerate(LeaveOneGroupOut().split(idx, y, sites)):
            if len(np.unique(y[train])) < len(classes):
                missing = sorted(set(classes) - set(y[train]))
                raise ConfigError(f"leaving out site {sites[test][0]!r} removes every subject of "
                                  f"group(s) {missing} from training")
            folds.append(Fold(0, k, train, test))
    return folds
