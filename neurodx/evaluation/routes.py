"""A route: how one method turns a subject's recording into a prediction."""
from __future__ import annotations

from dataclasses import dataclass

from sklearn.base import BaseEstimator, clone
from sklearn.pipeline import Pipeline

__all__ = ["Route", "build_from_config"]


@dataclass
class Route:
    """One classification route of a study.

    Parameters
    ----------
    name : str
        Short identifier used in tables and ``predictions.csv``.
    estimator : sklearn estimator
        Takes a list with one item per subject (the loaded recording) in ``fit``,
        ``predict`` and ``predict_proba``. Usually a :class:`~sklearn.pipeline.Pipeline`
        of neurodx steps, so that a trained route is stored as one skops file.
    stateless_steps : int
        How many leading steps of ``estimator`` (a Pipeline) learn nothing in
        ``fit`` (window spectra, band covariances...). The comparison applies them
        once per subject and cross-validates only the remaining steps; this is not
        leakage because those steps never see another subject. Everything fitted
        (scalers, tangent-space reference means, CNN weights) must come after.
    description : str
        One line for the report.
    """

    name: str
    estimator: BaseEstimator
    stateless_steps: int = 0
    description: str = ""

    def __post_init__(self):
        if self.stateless_steps and not isinstance(self.estimator, Pipeline):
            raise ValueError(f"route {self.name!r}: stateless_steps needs a Pipeline estimator")
        if isinstance(self.estimator, Pipeline) and \
                not 0 <= self.stateless_steps < len(self.estimator.steps):
            raise ValueError(f"route {self.name!r}: stateless_steps must leave at least one "
                             f"step to fit (pipeline has {len(self.estimator.steps)})")

    def extract(self, data):
        """Apply the stateless leading steps to one subject's loaded recording."""
        if not self.stateless_steps:
            return data
        # fit_transform on a clone: the steps learn nothing (that is what stateless
        # means), and recent scikit-learn refuses ``transform`` on an unfitted Pipeline.
        return clone(self.estimator[:self.stateless_steps]).fit_transform([data])[0]

    @property
    def cv_estimator(self) -> BaseEstimator:
        """The part of the route that is fitted inside each fold."""
        if not self.stateless_steps:
            return self.estimator
        return self.estimator[self.stateless_steps:]


def build_from_config(name: str, factory, params: dict, **fixed):
    """Call a pipeline factory with a route's config parameters.

    A parameter the factory does not take is reported as a config error naming
    the route (``routes.<name>``), not as a Python ``TypeError``.
    """
    import inspect

    from ..errors import ConfigError

    params = {k: v for k, v in params.items() if k not in ("kind", "description")}
    accepted = inspect.signature(factory).parameters
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        settable = sorted(set(accepted) - set(fixed))
        raise ConfigError(f"routes.{name}: unknown parameter(s) {', '.join(unknown)} for "
                          f"{factory.__name__} (settable: {', '.join(settable)})")
    return factory(**{**fixed, **params})
