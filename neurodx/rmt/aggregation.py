"""From window features to subjects: summary statistics, or stacked windows for voting."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..errors import ConfigError

__all__ = ["SUBJECT_STATS", "SubjectAggregator", "stack_windows", "check_window_features"]


def _iqr(a):
    q75, q25 = np.percentile(a, [75, 25], axis=0)
    return q75 - q25


#: Summary statistics over a subject's windows: name -> f(array (n_windows, n_features)).
#: ``sd`` is the population standard deviation (``ddof=0``), defined for one window.
SUBJECT_STATS = {
    "mean": lambda a: a.mean(axis=0),
    "sd": lambda a: a.std(axis=0),
    "median": lambda a: np.median(a, axis=0),
    "iqr": _iqr,
    "min": lambda a: a.min(axis=0),
    "max": lambda a: a.max(axis=0),
}


def check_window_features(X, name: str = "X", n_features: int | None = None) -> list:
    """Check ``X`` is a non-empty sequence of finite 2-D arrays with equal column counts."""
    if isinstance(X, np.ndarray) and X.ndim != 3:
        raise ConfigError(f"{name} must be a list of (n_windows, n_features) arrays, one per "
                          f"subject, or an array (n_subjects, n_windows, n_features); got an "
                          f"array of shape {X.shape}")
    if not hasattr(X, "__len__") or len(X) == 0:
        raise ConfigError(f"{name} must be a non-empty list of (n_windows, n_features) arrays, "
                          f"got {type(X).__name__}")
    out = []
    for i, a in enumerate(X):
        a = np.asarray(a, dtype=np.float64)
        if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
            raise ConfigError(f"{name}[{i}]: expected (n_windows >= 1, n_features >= 1), "
                              f"got shape {a.shape}")
        n_features = a.shape[1] if n_features is None else n_features
        if a.shape[1] != n_features:
            raise ConfigError(f"{name}[{i}]: expected {n_features} features, "
                              f"got {a.shape[1]}")
        if not np.all(np.isfinite(a)):
            raise ConfigError(f"{name}[{i}]: window features contain NaN or infinity")
        out.append(a)
    return out


class SubjectAggregator(TransformerMixin, BaseEstimator):
    """Summarise each subject's window features into one row.

    Parameters
    ----------
    stats : sequence of str
        Names from :data:`SUBJECT_STATS` (``"mean"``, ``"sd"``, ``"median"``,
        ``"iqr"``, ``"min"``, ``"max"``).

    Attributes
    ----------
    stats_ : tuple of str
    n_features_in_ : int
        Window features per subject.

    Notes
    -----
    ``X`` is a list of arrays ``(n_windows, n_features)`` (subjects may have different
    numbers of windows); ``transform`` returns ``(n_subjects, n_features * n_stats)``,
    the statistics of one feature side by side (``alpha_vne_mean``,
    ``alpha_vne_sd``, ...). To classify windows instead and vote per subject, use
    :func:`stack_windows`, which keeps each window's subject index.
    """

    def __init__(self, stats=("mean", "sd", "median", "iqr")):
        self.stats = stats

    def _validate_params(self):
        stats = self.stats
        if isinstance(stats, str) or not hasattr(stats, "__iter__") or not len(stats):
            raise ConfigError(f"stats must be a non-empty sequence of names from "
                              f"{sorted(SUBJECT_STATS)}, got {stats!r}")
        stats = tuple(stats)
        unknown = [s for s in stats if s not in SUBJECT_STATS]
        if unknown or len(set(stats)) != len(stats):
            raise ConfigError(f"stats must be distinct names from {sorted(SUBJECT_STATS)}, "
                              f"got {stats!r}")
        return stats

    def fit(self, X, y=None):
        """Validate; remember the number of window features.

        Returns
        -------
        self
        """
        self.stats_ = self._validate_params()
        self.n_features_in_ = check_window_features(X)[0].shape[1]
        return self

    def transform(self, X):
        """One row per subject.

        Returns
        -------
        Xt : ndarray, shape (n_subjects, ``n_features_in_ * n_stats``)
        """
        check_is_fitted(self, "stats_")
        subjects = check_window_features(X, n_features=self.n_features_in_)
        funcs = [SUBJECT_STATS[s] for s in self.stats_]
        rows = [np.stack([f(a) for f in funcs], axis=-1).ravel() for a in subjects]
        return np.vstack(rows)

    def get_feature_names_out(self, input_features=None):
        """Names ``"<feature>_<stat>"``; features default to ``x0, x1, ...``."""
        check_is_fitted(self, "stats_")
        if input_features is None:
            input_features = [f"x{i}" for i in range(self.n_features_in_)]
        elif len(input_features) != self.n_features_in_:
            raise ConfigError(f"input_features has {len(input_features)} names, expected "
                              f"{self.n_features_in_}")
        return np.array([f"{f}_{s}" for f in input_features for s in self.stats_],
                        dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags


def stack_windows(X, y=None):
    """Stack window features of all subjects for window-level training and voting.

    Parameters
    ----------
    X : list of ndarray, each (n_windows_i, n_features)
        E.g. the output of :class:`LinearEigenvalueStatistics`.
    y : array_like, shape (n_subjects,), optional
        Subject labels, repeated for each of the subject's windows.

    Returns
    -------
    X_windows : ndarray, shape (sum n_windows_i, n_features)
    y_windows : ndarray, shape (sum n_windows_i,) or None
    groups : ndarray of int, shape (sum n_windows_i,)
        Index of the subject each window comes from: pass it as ``groups`` to
        :class:`sklearn.model_selection.GroupKFold` so windows of one subject never
        straddle folds, and use it to vote (e.g. average window probabilities per
        subject).
    """
    subjects = check_window_features(X)
    counts = np.array([a.shape[0] for a in subjects])
    groups = np.repeat(np.arange(len(subjects)), counts)
    y_windows = None
    if y is not None:
        y = np.asarray(y)
        if y.shape[0] != len(subjects):
            raise ConfigError(f"y has {y.shape[0]} labels for {len(subjects)} subjects")
        y_windows = np.repeat(y, counts, axis=0)
    return np.vstack(subjects), y_windows, groups
