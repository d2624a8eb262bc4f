"""A route: how one method turns a subject's recording into a prediction."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sklearn.base import BaseEstimator

__all__ = ["Route"]


@dataclass
class Route:
    """One classification route of a study.

    Parameters
    ----------
    name : str
        Short identifier used in tables and ``predictions.csv``.
    estimator : sklearn estimator
        Fitted inside each fold on the training subjects only (scalers, tangent-space
        reference means, CNN weights, thresholds all live here). ``fit(X, y)`` and
        ``predict``/``predict_proba`` take a list with one item per subject.
    extract : callable, optional
        A *stateless* per-subject step applied once to every subject before
        cross-validation (e.g. window spectra or band covariances). It must not learn
        anything from other subjects, which is why caching it across folds is not
        leakage. ``None`` passes the loaded recording through.
    description : str
        One line for the report.
    """

    name: str
    estimator: BaseEstimator
    extract: Callable[[Any], Any] | None = None
    description: str = ""
