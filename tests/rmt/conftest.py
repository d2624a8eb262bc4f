"""Shared fixtures for the RMT tests: small synthetic data and the sklearn API checks."""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import (check_estimator_cloneable, check_estimator_repr,
                                            check_get_params_invariance,
                                            check_no_attributes_set_in_init,
                                            check_parameters_default_constructible,
                                            check_set_params)

# These checks of sklearn's estimator contract need no data, so they apply to the
# transformers that take lists of recordings / spectra / SPD matrices, which the
# data-driven checks of ``check_estimator`` (random 2-D numeric arrays) cannot feed.
API_CHECKS = (check_no_attributes_set_in_init, check_parameters_default_constructible,
              check_get_params_invariance, check_set_params, check_estimator_cloneable,
              check_estimator_repr)


@pytest.fixture
def api_checks():
    """``api_checks(estimator)`` runs the data-independent sklearn estimator checks."""
    def run(estimator):
        name = type(estimator).__name__
        for check in API_CHECKS:
            check(name, clone(estimator))
        assert clone(estimator).get_params() == estimator.get_params()
    return run


@pytest.fixture
def white_windows():
    """White-noise windows (n_windows=20, N=64, T=640), float64, seeded."""
    return np.random.default_rng(0).standard_normal((20, 64, 640))


def _spiked_signal(rng, n_channels, n_times, strength):
    u = rng.standard_normal(n_channels)
    u /= np.linalg.norm(u)
    factor = rng.standard_normal(n_times) * np.sqrt(strength)
    return rng.standard_normal((n_channels, n_times)) + np.outer(u, factor)


@pytest.fixture
def spiked_signal():
    """``spiked_signal(rng, n_channels, n_times, strength)``: one-spike Gaussian data.

    Independent unit-variance channels plus one common factor: the population
    covariance is ``I + strength * u u^T`` with ``u`` a random unit vector, a single
    spike of strength ``strength`` in the BBP convention of :func:`bbp_threshold`.
    """
    return _spiked_signal
