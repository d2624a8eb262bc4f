"""Affine-invariant Riemannian (Karcher) mean of SPD matrices by Newton's method.

:class:`~neurodx.rmt.BandTangentSpace` takes the Riemannian mean of the training
subjects' matrices as its reference point; for 200 regions it is most of a tuned
region route's time (issue 17). The mean is the unique zero of the Riemannian
gradient ``-J(M)``, ``J(M) = sum_i w_i log(M^{-1/2} X_i M^{-1/2})``; how one gets
there is free. Each evaluation of ``J`` costs an eigen-decomposition of every matrix,
so what counts is the number of evaluations:

* pyRiemann's :func:`~pyriemann.geometry.mean.mean_riemann` (the arithmetic mean as
  start, a damped gradient step) needs 9-10 of them to reach its stopping rule
  ``||J||_F <= 1e-8`` on 200 x 200 region covariances of a few hundred subjects;
  the undamped Karcher step (step 1) converges linearly at a rate of ~0.3 there and
  needs ~20, a fixed optimal step ~9 (measured, issue 17).
* This module starts from the **log-Euclidean mean** of the same matrices (``expm``
  of the weighted mean of their matrix logarithms, which are per-matrix and
  unfitted) and takes **Newton steps**: the Hessian of ``f(M) = 1/2 sum_i w_i
  d^2(M, X_i)`` at ``M``, in the whitened frame where ``X_i`` has eigenvectors
  ``U_i`` and log-eigenvalues ``l_i``, is ``xi -> sum_i w_i U_i ((U_i^T xi U_i) o
  K_i) U_i^T`` with ``K_i[p, q] = h(l_ip - l_iq)``, ``h(x) = (x/2) coth(x/2)``
  (``h >= 1``: the metric has non-positive curvature; Jeuris, Vandebril &
  Vandereycken 2012, "A survey and comparison of contemporary algorithms for
  computing the matrix geometric mean", ETNA 39, sec. 3). The Newton system is
  solved by a few conjugate-gradient steps (the Hessian is well conditioned:
  ``h`` ranges over 1 to ~1.4 on these data) with float32 Hessian products (the
  system only sets the step; the stopping test uses float64 ``J``). Four
  evaluations reach ``||J|| <= 1e-8`` where pyRiemann's iteration needs 9-10.

The iteration runs in the Cholesky frame of the current mean (``M = L L^T``):
``L^{-1} X_i L^{-T} = Q^T (M^{-1/2} X_i M^{-1/2}) Q`` with ``Q`` orthogonal, so
``J`` and the Hessian are rotated by ``Q`` and ``||J||`` is unchanged; the whitening
is two triangular products (``dtrmm``) per matrix.

**Stopping.** The mean returned is the iterate at which ``||J||_F <= tol`` was
measured (pyRiemann returns the iterate one step after its test); ``tol``'s default
is pyRiemann's. Since the Hessian is at least the identity, the affine-invariant
distance to the exact mean is then at most ``tol`` (for weights summing to one).
The eigen-decompositions of that last evaluation are what the tangent-space
transform of the same matrices computes (:func:`tangent_vectors`), so a fit
returns the training subjects' tangent vectors without decomposing them again.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.linalg import blas, lapack, solve_triangular

from ..errors import ConfigError
from ._reference_memo import MATRIX_LOGS, matrices_key

__all__ = ["riemann_mean", "tangent_vectors"]


def _sym_fun(A: np.ndarray, fun) -> np.ndarray:
    lam, V = np.linalg.eigh(A)
    return (V * fun(lam)) @ V.T


def _whiten(X: np.ndarray, L_inv: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[i] = L_inv X[i] L_inv^T`` for lower-triangular ``L_inv``, two dtrmm each."""
    Li = np.asfortranarray(L_inv)
    for i in range(X.shape[0]):
        # X[i] is symmetric: its C-order buffer read in Fortran order is X[i] again
        B = blas.dtrmm(1.0, Li, X[i].T, lower=1)
        out[i] = blas.dtrmm(1.0, Li, B, side=1, lower=1, trans_a=1).T
    return out


def _weighted_sum(U: np.ndarray, g: np.ndarray, chunk: int = 8) -> np.ndarray:
    """``sum_i U_i diag(g_i) U_i^T`` as symmetric rank-k updates (``g`` carries the
    weights), no copy of every matrix's transpose."""
    n = U.shape[-1]
    scale, positive = np.sqrt(np.abs(g)), g >= 0
    J = np.zeros((n, n))
    # A_+ A_+^T - A_- A_-^T, the columns of every U scaled by sqrt(|g|) and split by the
    # sign of g; a few matrices at a time keep the side-by-side copy A small (measured
    # faster than one copy of the whole stack)
    for i in range(0, U.shape[0], chunk):
        A = (U[i:i + chunk] * scale[i:i + chunk, None, :]).transpose(1, 0, 2).reshape(n, -1)
        pos = positive[i:i + chunk].ravel()
        if pos.any():
            J += blas.dsyrk(1.0, np.asfortranarray(A[:, pos]))
        if not pos.all():
            J -= blas.dsyrk(1.0, np.asfortranarray(A[:, ~pos]))
    return np.triu(J) + np.triu(J, 1).T                       # dsyrk fills the upper triangle


@dataclass
class _Frame:
    """One evaluation at ``M``: its Cholesky factor and the whitened matrices'
    eigenvectors ``U`` and log-eigenvalues ``logs`` (``L^{-1} X_i L^{-T} = U_i
    diag(exp(logs_i)) U_i^T``)."""

    M: np.ndarray
    L: np.ndarray
    U: np.ndarray
    logs: np.ndarray


def _eigh_in_place(W: np.ndarray) -> np.ndarray:
    """Eigenvalues of the symmetric stack ``W`` (lower triangles read, as
    ``numpy.linalg.eigh``); the eigenvectors overwrite ``W``: ``W[i].T`` is ``U_i``.

    LAPACK ``dsyevd`` matrix by matrix into the given stack: ``numpy.linalg.eigh`` of a
    stack allocates a new one of tens of MB at every call, and the page faults of
    touching it cost ~15 % on top of the decompositions (measured as system time).
    """
    lam = np.empty(W.shape[:2])
    for i in range(W.shape[0]):
        # W[i].T is W[i] in Fortran order: its upper triangle is W[i]'s lower one
        w, v, info = lapack.dsyevd(W[i].T, compute_v=1, lower=0, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError("eigen-decomposition did not converge")
        if not np.shares_memory(v, W):           # scipy copied after all: write back
            W[i].T[...] = v
        lam[i] = w
    return lam


def _evaluate(X: np.ndarray, M: np.ndarray, work: np.ndarray) -> _Frame:
    """``J``'s ingredients at ``M``; ``work`` (shaped as ``X``) ends up holding the
    eigenvectors (the frame's ``U`` is a view of it)."""
    L = np.linalg.cholesky(M)
    L_inv = solve_triangular(L, np.eye(M.shape[0]), lower=True)
    lam = _eigh_in_place(_whiten(X, L_inv, work))
    if lam[:, 0].min() <= 0:
        raise ConfigError("tangent space: a matrix is not positive definite")
    return _Frame(M, L, np.swapaxes(work, -1, -2), np.log(lam))


class _HessianWork:
    """The float32 stacks of the Hessian products, allocated once per mean.

    New temporaries of this size (tens of MB each) at every solve cost page faults on
    first touch: measured, a third of a solve's time went to system time.
    """

    def __init__(self, shape):
        self.K, self.U, self.Ut, self.a, self.b = (np.empty(shape, dtype=np.float32)
                                                   for _ in range(5))


def _hessian_solve(frame: _Frame, w: np.ndarray, J: np.ndarray, rtol: float,
                   work: _HessianWork, max_steps: int = 10) -> np.ndarray:
    """Conjugate-gradient solution of ``H xi = J`` to relative residual ``rtol``."""
    logs = frame.logs.astype(np.float32)
    K, U, Ut, a, b = work.K, work.U, work.Ut, work.a, work.b
    np.subtract(logs[:, :, None], logs[:, None, :], out=K)
    K *= 0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(K, np.tanh(K, out=a), out=K)            # h(x) = (x/2) coth(x/2)
    K[np.isnan(K)] = 1.0                                  # h(0) = 1 (0/0 above)
    K *= w.astype(np.float32)[:, None, None]
    U[...] = frame.U
    Ut[...] = np.swapaxes(U, -1, -2)

    def hess(v):
        np.matmul(Ut, v.astype(np.float32), out=a)
        np.matmul(a, U, out=b)
        np.multiply(b, K, out=b)
        np.matmul(U, b, out=a)
        np.matmul(a, Ut, out=b)
        return b.sum(axis=0, dtype=np.float64)

    xi, r = np.zeros_like(J), J.copy()
    p, rr, stop = r.copy(), np.vdot(r, r), (rtol * np.linalg.norm(J)) ** 2
    for _ in range(max_steps):
        Hp = hess(p)
        alpha = rr / np.vdot(p, Hp)
        xi += alpha * p
        r -= alpha * Hp
        rr_new = np.vdot(r, r)
        if rr_new <= stop:
            break
        p, rr = r + (rr_new / rr) * p, rr_new
    return (xi + xi.T) / 2


def _matrix_logs(X: np.ndarray) -> np.ndarray:
    """``logm(X_i)`` of every matrix, each computed once per process (a per-matrix,
    unfitted transform: see :data:`~neurodx.rmt._reference_memo.MATRIX_LOGS`); the
    same values whether they come from the memo or not."""
    keys = [matrices_key(x) for x in X]
    logs = np.empty_like(X)
    missing = []
    for i, key in enumerate(keys):
        stored = MATRIX_LOGS.get(key)
        if stored is None:
            missing.append(i)
        else:
            logs[i] = stored
    if missing:
        lam, V = np.linalg.eigh(X[missing])
        if lam[:, 0].min() <= 0:
            raise ConfigError("Riemannian mean: a matrix is not positive definite")
        for i, vectors, values in zip(missing, V, lam):
            logs[i] = (vectors * np.log(values)) @ vectors.T
            MATRIX_LOGS.put(keys[i], logs[i])
    return logs


def _log_euclidean_start(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``expm(sum_i w_i logm(X_i))``: uses nothing but the matrices themselves."""
    return _sym_fun(np.einsum("i,ijk->jk", w, _matrix_logs(X)), np.exp)


def _karcher_newton(X, *, tol: float, maxiter: int, sample_weight=None) -> _Frame:
    X = np.ascontiguousarray(X, dtype=np.float64)
    n_matrices = X.shape[0]
    w = np.full(n_matrices, 1.0 / n_matrices) if sample_weight is None else \
        np.asarray(sample_weight, dtype=np.float64) / np.sum(sample_weight)
    # two work stacks, each holding one evaluation's eigenvectors: the next evaluation
    # goes to the one the best point so far does not use
    works = [np.empty_like(X), np.empty_like(X)]
    frame = _evaluate(X, _log_euclidean_start(X, w), works[0])
    best, step, hessian_work = None, 1.0, None
    for _ in range(maxiter):
        J = _weighted_sum(frame.U, w[:, None] * frame.logs)
        crit = np.linalg.norm(J)
        if crit <= tol:
            return frame
        if best is not None and crit >= best[2]:
            # Newton overshot (far from the mean): back to the best point, half the step
            frame, J, crit, xi = best
            step *= 0.5
        else:
            # forcing term ||J||: quadratic convergence; no tighter than the stopping
            # test needs (float32 Hessian products would not give it anyway)
            if hessian_work is None:
                hessian_work = _HessianWork(X.shape)
            xi = _hessian_solve(frame, w, J, rtol=min(0.1, max(crit, 0.1 * tol / crit, 1e-4)),
                                work=hessian_work)
            best, step = (frame, J, crit, xi), 1.0
        M = frame.L @ _sym_fun(step * xi, np.exp) @ frame.L.T
        work = works[1] if np.shares_memory(best[0].U, works[0]) else works[0]
        frame = _evaluate(X, (M + M.T) / 2, work)
    warnings.warn("Riemannian mean: convergence not reached", stacklevel=3)
    return frame


def riemann_mean(X, *, tol: float = 10e-9, maxiter: int = 50, sample_weight=None
                 ) -> np.ndarray:
    """Affine-invariant Riemannian (Karcher) mean of SPD matrices.

    Parameters
    ----------
    X : array_like, shape (n_matrices, n, n)
        Symmetric positive definite matrices (float64).
    tol : float
        Stop at the first iterate where the Frobenius norm of the mean log map
        ``sum_i w_i log(M^{-1/2} X_i M^{-1/2})`` is at most ``tol`` (pyRiemann's
        ``mean_riemann`` default and criterion).
    maxiter : int
        Evaluations of that gradient at most; a ``UserWarning`` says when they were not
        enough.
    sample_weight : array_like, shape (n_matrices,), optional
        Non-negative weights (normalised to sum 1); equal weights by default.

    Returns
    -------
    M : ndarray, shape (n, n)
        The mean, symmetric positive definite; within affine-invariant distance
        ``tol`` of the exact mean, as pyRiemann's ``mean_riemann`` (see the module
        docstring for the method).
    """
    return _karcher_newton(X, tol=tol, maxiter=maxiter, sample_weight=sample_weight).M


def _features(frame: _Frame) -> np.ndarray:
    """pyRiemann's tangent vectors of the whitened matrices of ``frame``: upper
    triangles of ``log(M^{-1/2} X_i M^{-1/2}) = Q U_i diag(logs_i) U_i^T Q^T``,
    off-diagonal entries times sqrt(2)."""
    lam, V = np.linalg.eigh(frame.M)
    Q = ((V / np.sqrt(lam)) @ V.T) @ frame.L                  # M^{-1/2} L, orthogonal
    n = Q.shape[0]
    rows, cols = np.triu_indices(n)
    coeffs = np.where(rows == cols, 1.0, np.sqrt(2.0))
    out = np.empty((frame.U.shape[0], rows.size))
    for i, (U, g) in enumerate(zip(frame.U, frame.logs)):
        R = Q @ U
        out[i] = ((R * g) @ R.T)[rows, cols] * coeffs
    return out


def tangent_vectors(X, reference: np.ndarray) -> np.ndarray:
    """Tangent vectors of SPD matrices at ``reference`` (pyRiemann's ``tangent_space``,
    affine-invariant log map), computed as :func:`riemann_mean`'s last evaluation does.

    Parameters
    ----------
    X : array_like, shape (n_matrices, n, n)
    reference : ndarray, shape (n, n)

    Returns
    -------
    T : ndarray, shape (n_matrices, n (n + 1) / 2)
        Equal to ``pyriemann.geometry.tangentspace.tangent_space(X, reference)`` up to
        rounding, and bit for bit to the training vectors a fit of the mean returns.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    return _features(_evaluate(X, reference, np.empty_like(X)))


def riemann_mean_and_vectors(X, *, tol: float = 10e-9, maxiter: int = 50
                             ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`riemann_mean` and the tangent vectors of ``X`` at it (equal to
    :func:`tangent_vectors` of ``X`` at the returned mean), from its last evaluation."""
    frame = _karcher_newton(X, tol=tol, maxiter=maxiter)
    return frame.M, _features(frame)
