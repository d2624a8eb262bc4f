"""Eigenvalue statistics relative to class means (rmt_les_relative)."""
import numpy as np
import pytest
from scipy.stats import ortho_group
from sklearn.base import clone

from neurodx.errors import ConfigError
from neurodx.rmt import RMT_ROUTE_KINDS
from neurodx.rmt.relative_spectra import (ClassRelativeSpectra, make_les_relative_pipeline,
                                          relative_eigenvalues, relative_statistics)


def _spd(rng, n, p, scale=1.0):
    a = rng.standard_normal((n, p, 3 * p))
    return a @ a.transpose(0, 2, 1) / (3 * p) * scale


def test_a_matrix_relative_to_itself_has_a_flat_spectrum():
    rng = np.random.default_rng(0)
    C = _spd(rng, 3, 5)
    lam = np.stack([relative_eigenvalues(C[i], C[i]) for i in range(3)])
    np.testing.assert_allclose(lam, 1.0, atol=1e-10)
    stats = relative_statistics(lam)
    np.testing.assert_allclose(stats, np.tile([0, 0, 1, 1, 0, 0], (3, 1)), atol=1e-10)


def test_mean_log_squared_is_the_riemannian_distance():
    try:   # pyRiemann >= 0.10 moved it to pyriemann.geometry (as relative_spectra's gmean)
        from pyriemann.geometry.distance import distance_riemann
    except ImportError:
        from pyriemann.utils.distance import distance_riemann
    rng = np.random.default_rng(1)
    C, M = _spd(rng, 2, 4)
    stat = relative_statistics(relative_eigenvalues(C, M))[1]
    assert stat * 4 == pytest.approx(distance_riemann(C, M) ** 2, rel=1e-8)


def test_features_are_invariant_to_a_congruence_of_every_subject():
    rng = np.random.default_rng(2)
    X = np.stack([_spd(rng, 12, 4), _spd(rng, 12, 4)], axis=1)      # (12, 2 bands, 4, 4)
    X[6:, 0] *= 1.5
    y = np.repeat(["a", "b"], 6)
    A = ortho_group.rvs(4, random_state=3) @ np.diag([1.0, 2.0, 0.5, 3.0])
    XA = A @ X @ A.T
    f = ClassRelativeSpectra().fit(X, y).transform(X)
    fA = ClassRelativeSpectra().fit(XA, y).transform(XA)
    assert f.shape == (12, 2 * 2 * 6)
    np.testing.assert_allclose(fA, f, rtol=1e-5, atol=1e-6)


def test_labels_are_required_and_shapes_checked():
    rng = np.random.default_rng(4)
    X = _spd(rng, 4, 3)[:, None]
    with pytest.raises(ConfigError, match="labels"):
        ClassRelativeSpectra().fit(X, None)
    with pytest.raises(ConfigError, match="2 classes"):
        ClassRelativeSpectra().fit(X, ["a"] * 4)
    est = ClassRelativeSpectra().fit(X, ["a", "a", "b", "b"])
    with pytest.raises(ConfigError, match="do not match"):
        est.transform(_spd(rng, 2, 4)[:, None])


def test_route_separates_a_spatial_difference_and_is_deterministic():
    rng = np.random.default_rng(5)
    sfreq, X, y = 64.0, [], []
    for i in range(16):
        x = rng.standard_normal((5, int(30 * sfreq)))
        if i % 2:
            x[1] += 1.5 * x[0]          # same channel powers up to scale, new covariance
        X.append(x)
        y.append("patient" if i % 2 else "control")
    y = np.array(y)
    pipe = make_les_relative_pipeline(bands={"beta": (13.0, 30.0)}, sfreq=sfreq)
    tr, te = np.arange(12), np.arange(12, 16)
    p1 = clone(pipe).fit([X[i] for i in tr], y[tr]).predict([X[i] for i in te])
    p2 = clone(pipe).fit([X[i] for i in tr], y[tr]).predict([X[i] for i in te])
    np.testing.assert_array_equal(p1, p2)
    assert np.mean(p1 == y[te]) == 1.0
    assert RMT_ROUTE_KINDS["rmt_les_relative"] == (make_les_relative_pipeline, 1)


def test_statistics_subset_keeps_those_columns_in_bank_order():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((4, 4))
    X = np.stack([[A @ A.T + (1 + i) * np.eye(4)] for i in range(6)])
    y = ["a", "b"] * 3
    full = ClassRelativeSpectra().fit(X, y).transform(X)
    sub = ClassRelativeSpectra(statistics=["mean_log2", "mean_log"]).fit(X, y).transform(X)
    np.testing.assert_allclose(sub, full.reshape(6, -1, 6)[:, :, :2].reshape(6, -1))
    with pytest.raises(ConfigError, match="statistics"):
        ClassRelativeSpectra(statistics=["median"]).fit(X, y)
