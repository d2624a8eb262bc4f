"""The final step of the RMT route pipelines (its own module: the route factories in
``pipelines``, ``les_tangent`` and ``relative_spectra`` all use it)."""
from __future__ import annotations

from sklearn.base import clone
from sklearn.svm import SVC

from ..errors import ConfigError
from .rowspace import RowSpaceLogisticRegression

__all__ = ["make_classifier"]


def make_classifier(classifier="svc", random_state=0):
    """The final step of the route pipelines.

    Parameters
    ----------
    classifier : {"svc", "logreg"} or estimator
        ``"svc"``: linear-kernel :class:`~sklearn.svm.SVC` (features outnumber the ~100
        subjects, where a linear margin is the safe default); ``"logreg"``: L2
        logistic regression (:class:`~neurodx.rmt.rowspace.RowSpaceLogisticRegression`,
        the same model fitted in the span of the training subjects when features
        outnumber them: the same optimum, seconds instead of minutes for a nested
        C search on 20,100 tangent features). Both use balanced class
        weights, since groups (HC / FES / CHR) are rarely of equal size. An estimator
        is cloned.
    random_state : int
        Seed for the classifier.
    """
    if classifier == "svc":
        return SVC(kernel="linear", C=1.0, class_weight="balanced", random_state=random_state)
    if classifier == "logreg":
        return RowSpaceLogisticRegression(C=1.0, class_weight="balanced", max_iter=2000,
                                          random_state=random_state)
    if hasattr(classifier, "fit") and hasattr(classifier, "predict"):
        return clone(classifier)
    raise ConfigError(f"classifier must be 'svc', 'logreg' or an sklearn classifier, "
                      f"got {classifier!r}")
