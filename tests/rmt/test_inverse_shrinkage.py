"""LIS / QIS / GIS nonlinear shrinkage (Ledoit & Wolf 2022) and the correlation cleaner."""
import numpy as np
import pytest
from scipy.stats import ortho_group

from neurodx.errors import ConfigError
from neurodx.rmt import clean_correlation
from neurodx.rmt.inverse_shrinkage import shrink_spectrum_inverse


def _draw(rng, pop, n):
    p = len(pop)
    q = ortho_group.rvs(p, random_state=rng)
    sigma = (q * pop) @ q.T
    x = rng.standard_normal((n, p)) @ (q * np.sqrt(pop)).T
    lam, vecs = np.linalg.eigh(x.T @ x / n)
    return lam, vecs, sigma


def _stein(est, sigma):
    m = np.linalg.solve(sigma, est)
    return np.trace(m) - np.linalg.slogdet(m)[1] - len(m)


def _inv_stein(est, sigma):
    return _stein(sigma, est)


@pytest.mark.parametrize("method, loss", [("lis", _stein), ("qis", _inv_stein),
                                          ("gis", lambda e, s: _stein(e, s) + _inv_stein(e, s))])
def test_each_estimator_beats_the_sample_covariance_under_its_loss(method, loss):
    rng = np.random.default_rng(0)
    pop = np.geomspace(0.2, 5.0, 40)
    gain = []
    for _ in range(4):
        lam, vecs, sigma = _draw(rng, pop, 100)
        shrunk = (vecs * shrink_spectrum_inverse(lam, 100, method)) @ vecs.T
        gain.append(loss(shrunk, sigma) / loss((vecs * lam) @ vecs.T, sigma))
    assert np.mean(gain) < 0.8


def test_shrinkage_pulls_a_white_noise_spectrum_towards_one():
    rng = np.random.default_rng(1)
    lam, _, _ = _draw(rng, np.ones(30), 90)
    for method in ("lis", "qis", "gis"):
        d = shrink_spectrum_inverse(lam, 90, method)
        assert np.all(d > 0)
        assert np.std(np.log(d)) < 0.5 * np.std(np.log(lam))


def test_qis_keeps_the_trace_and_handles_more_channels_than_samples():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((20, 30))
    lam = np.clip(np.linalg.eigvalsh(x.T @ x / 20), 0, None)
    d = shrink_spectrum_inverse(lam, 20, "qis")
    assert np.all(np.isfinite(d)) and np.all(d > 0)
    assert d.sum() == pytest.approx(lam.sum())
    with pytest.raises(ValueError, match="p <= n"):
        shrink_spectrum_inverse(lam, 20, "lis")


def test_bad_method_and_unsorted_input_are_refused():
    with pytest.raises(ConfigError, match="method"):
        shrink_spectrum_inverse([1.0, 2.0], 10, "stein")
    with pytest.raises(ValueError, match="ascending"):
        shrink_spectrum_inverse([2.0, 1.0], 10, "qis")


def test_clean_correlation_with_inverse_shrinkage_is_a_positive_definite_correlation():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 200))
    x[0] += x[1]
    x -= x.mean(axis=0)                       # average reference: one null direction
    R = np.corrcoef(x)
    for method in ("lis", "qis", "gis"):
        C = clean_correlation(R, 200, method)
        np.testing.assert_allclose(np.diag(C), 1.0)
        np.testing.assert_allclose(C, C.T)
        assert np.linalg.eigvalsh(C).min() > 0
        # the strong pair correlation survives the shrinkage
        assert C[0, 1] > 0.3
