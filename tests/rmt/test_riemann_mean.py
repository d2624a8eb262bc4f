"""riemann_mean: the Karcher mean by Newton's method, the same point as pyRiemann's
mean_riemann to its tolerance; tangent vectors equal to pyRiemann's log map."""
import numpy as np
import pytest
try:   # pyRiemann >= 0.10 moved the means to pyriemann.geometry (as relative_spectra)
    from pyriemann.geometry.mean import mean_riemann
    from pyriemann.geometry.tangentspace import log_map_riemann, tangent_space
except ImportError:   # the lowest supported pyRiemann (0.6)
    from pyriemann.utils.mean import mean_riemann
    from pyriemann.utils.tangentspace import log_map_riemann, tangent_space

from neurodx.rmt import riemann_mean as module
from neurodx.rmt.riemann_mean import riemann_mean, riemann_mean_and_vectors, tangent_vectors

TOL = 1e-8       # pyRiemann's default stopping tolerance, ours too


def spd(n_matrices, n, spread, seed, condition=None):
    """SYNTHETIC SPD matrices: sample covariances of noise with per-matrix random
    scales over ``spread`` decades and a random mixing (far from one another);
    ``condition``: eigenvalues of each matrix pushed over that many decades."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n_matrices, n, 3 * n))
    mix = np.eye(n) + 0.3 * rng.standard_normal((n_matrices, n, n))
    c = mix @ (a @ np.swapaxes(a, -1, -2) / (3 * n)) @ np.swapaxes(mix, -1, -2)
    if condition is not None:
        lam, V = np.linalg.eigh(c)
        lam = lam * np.logspace(0, condition, n)
        c = (V * lam[:, None, :]) @ np.swapaxes(V, -1, -2)
        c = (c + np.swapaxes(c, -1, -2)) / 2
    return c * np.logspace(0, spread, n_matrices)[:, None, None]


def distance(A, B):
    """Affine-invariant distance."""
    lam, V = np.linalg.eigh(A)
    isqrt = (V / np.sqrt(lam)) @ V.T
    return np.linalg.norm(np.log(np.linalg.eigvalsh(isqrt @ B @ isqrt)))


def gradient_norm(X, M, w=None):
    """||sum_i w_i log(M^-1/2 X_i M^-1/2)||_F by pyRiemann's own log map."""
    w = np.full(len(X), 1 / len(X)) if w is None else w / w.sum()
    return np.linalg.norm(np.einsum("i,ijk->jk", w, log_map_riemann(X, M)))


FIXTURES = [(5, 3, 0.0, 0, None), (30, 12, 2.0, 1, None), (12, 40, 1.0, 2, None),
            # ill-conditioned: condition numbers up to ~1e10, scales over 1-4 decades
            (20, 10, 4.0, 6, 3.0), (40, 25, 1.0, 7, 2.5)]


@pytest.mark.parametrize("n_matrices, n, spread, seed, condition", FIXTURES)
def test_same_mean_as_pyriemann_within_its_tolerance(n_matrices, n, spread, seed, condition):
    X = spd(n_matrices, n, spread, seed, condition)
    ours = riemann_mean(X)
    assert np.array_equal(ours, ours.T)
    assert np.all(np.linalg.eigvalsh(ours) > 0)
    # the stopping rule, checked independently: pyRiemann's gradient at our mean
    assert gradient_norm(X, ours) <= TOL
    # the gradient norm bounds the distance to the exact mean (the Hessian is >= 1):
    # pyRiemann's mean and ours are both within 1e-8 of it, so within 2e-8 of each other
    assert distance(ours, mean_riemann(X)) <= 2 * TOL
    exact = mean_riemann(X, tol=1e-12, maxiter=500)
    assert distance(ours, exact) <= TOL


def test_deterministic():
    X = spd(30, 12, 2.0, 1)
    assert np.array_equal(riemann_mean(X), riemann_mean(X.copy()))


def test_weights_and_mathematical_properties():
    X = spd(10, 6, 1.0, 3)
    w = np.arange(1.0, 11.0)
    ours = riemann_mean(X, sample_weight=w)
    assert gradient_norm(X, ours, w) <= TOL
    assert distance(ours, mean_riemann(X, sample_weight=w / w.sum())) <= 2 * TOL
    # the mean of one matrix is that matrix; congruence equivariance: mean(A X A^T) = A M A^T
    np.testing.assert_allclose(riemann_mean(X[:1]), X[0], rtol=1e-12)
    A = np.random.default_rng(4).standard_normal((6, 6)) + 3 * np.eye(6)
    assert distance(riemann_mean(A @ X @ A.T), A @ riemann_mean(X) @ A.T) <= 2 * TOL


@pytest.mark.filterwarnings("ignore:Convergence not reached")
def test_newton_needs_fewer_evaluations_than_pyriemanns_iterations(monkeypatch):
    X = spd(40, 25, 1.0, 7, 2.5)
    calls = []
    evaluate = module._evaluate
    monkeypatch.setattr(module, "_evaluate", lambda *a: calls.append(1) or evaluate(*a))
    riemann_mean(X)
    # pyRiemann's iteration count on the same matrices, from its own maxiter warning
    iterations = next(k for k in range(1, 60)
                      if gradient_norm(X, mean_riemann(X, maxiter=k)) <= TOL)
    assert len(calls) < iterations


@pytest.mark.parametrize("n_matrices, n, spread, seed, condition", FIXTURES[1:4])
def test_tangent_vectors_are_pyriemanns(n_matrices, n, spread, seed, condition):
    X = spd(n_matrices, n, spread, seed, condition)
    M, fit_vectors = riemann_mean_and_vectors(X[:-3])
    expected = tangent_space(X, M)
    T = tangent_vectors(X, M)
    # rounding of two ways to whiten, amplified by the condition number (~1e10 for the
    # ill-conditioned fixture)
    tol = 1e-10 if condition is None else 1e-6
    np.testing.assert_allclose(T, expected, rtol=0, atol=tol * np.abs(expected).max())
    # the fit's vectors are what the transform computes, bit for bit
    assert np.array_equal(fit_vectors, tangent_vectors(X[:-3], M))
    assert np.array_equal(M, riemann_mean(X[:-3]))


def test_too_few_iterations_are_reported():
    with pytest.warns(UserWarning, match="convergence not reached"):
        riemann_mean(spd(8, 5, 2.0, 5), maxiter=1)


def test_same_mean_whether_the_matrix_logarithms_are_stored_or_not():
    from neurodx.rmt._reference_memo import MATRIX_LOGS

    X = spd(30, 12, 2.0, 1)
    MATRIX_LOGS.clear()
    cold = riemann_mean(X[:20])
    warm = riemann_mean(X[:20])                  # every logarithm from the memo
    MATRIX_LOGS.clear()
    riemann_mean(X[10:])                         # half of them stored
    mixed = riemann_mean(X[:20])
    assert MATRIX_LOGS.hits >= 10
    assert np.array_equal(cold, warm) and np.array_equal(cold, mixed)
    MATRIX_LOGS.clear()
