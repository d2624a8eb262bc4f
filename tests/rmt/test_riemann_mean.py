"""riemann_mean: pyRiemann's Riemannian-mean iteration in the Cholesky frame."""
import numpy as np
import pytest
try:   # pyRiemann >= 0.10 moved the means to pyriemann.geometry (as relative_spectra)
    from pyriemann.geometry.mean import mean_riemann
except ImportError:   # the lowest supported pyRiemann (0.6)
    from pyriemann.utils.mean import mean_riemann

from neurodx.rmt.riemann_mean import riemann_mean


def spd(n_matrices, n, spread, seed):
    """SYNTHETIC SPD matrices: sample covariances of noise with per-matrix random
    scales over ``spread`` decades and a random mixing (far from one another)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n_matrices, n, 3 * n))
    mix = np.eye(n) + 0.3 * rng.standard_normal((n_matrices, n, n))
    c = mix @ (a @ np.swapaxes(a, -1, -2) / (3 * n)) @ np.swapaxes(mix, -1, -2)
    return c * np.logspace(0, spread, n_matrices)[:, None, None]


@pytest.mark.parametrize("n_matrices, n, spread, seed", [(5, 3, 0.0, 0), (30, 12, 2.0, 1),
                                                          (12, 40, 1.0, 2)])
def test_same_mean_as_pyriemann(n_matrices, n, spread, seed):
    X = spd(n_matrices, n, spread, seed)
    ours, theirs = riemann_mean(X), mean_riemann(X)
    assert np.allclose(ours, ours.T, rtol=0, atol=0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12 * np.abs(theirs).max())
    assert np.all(np.linalg.eigvalsh(ours) > 0)


def test_weights_and_mathematical_properties():
    X = spd(10, 6, 1.0, 3)
    w = np.arange(1.0, 11.0)
    np.testing.assert_allclose(riemann_mean(X, sample_weight=w),
                               mean_riemann(X, sample_weight=w / w.sum()), rtol=1e-10)
    # the mean of one matrix is that matrix; congruence equivariance: mean(A X A^T) = A M A^T
    np.testing.assert_allclose(riemann_mean(X[:1]), X[0], rtol=1e-12)
    A = np.random.default_rng(4).standard_normal((6, 6)) + 3 * np.eye(6)
    np.testing.assert_allclose(riemann_mean(A @ X @ A.T), A @ riemann_mean(X) @ A.T,
                               rtol=1e-8, atol=1e-10)


def test_too_few_iterations_are_reported():
    with pytest.warns(UserWarning, match="convergence not reached"):
        riemann_mean(spd(8, 5, 2.0, 5), maxiter=1)
