"""Rotation-equivariant covariance cleaning: MP eigenvalue clipping, LW 2020 shrinkage.

Both estimators keep the sample eigenvectors and replace the sample eigenvalues,
so each comes as a spectrum-level function (eigenvalues in, eigenvalues out) and a
matrix-level function (eigen-decomposition, spectrum function, reconstruction), all
batched over leading axes.

References
----------
Laloux L., Cizeau P., Potters M., Bouchaud J.-P. (2000). Random matrix theory and
financial correlations. Int. J. Theor. Appl. Finance 3(3), 391-397.
Bun J., Bouchaud J.-P., Potters M. (2017). Cleaning large correlation matrices: tools
from random matrix theory. Physics Reports 666, 1-109 (Sec. 6: clipping; cleaning the
correlation matrix, then restoring the sample variances).
Ledoit O., Wolf M. (2020). Analytical nonlinear shrinkage of large-dimensional
covariance matrices. Ann. Statist. 48(5), 3043-3065.
"""
from __future__ import annotations

import numpy as np

__all__ = ["clip_spectrum", "clip_eigenvalues", "shrink_spectrum",
           "analytic_nonlinear_shrinkage"]

_SQRT5 = np.sqrt(5.0)


def _check_square(S):
    S = np.asarray(S, dtype=np.float64)
    if S.ndim < 2 or S.shape[-1] != S.shape[-2]:
        raise ValueError(f"expected square matrices (..., p, p), got shape {S.shape}")
    if not np.all(np.isfinite(S)):
        raise ValueError("matrices contain NaN or infinity")
    return S


def _reconstruct(vecs, vals):
    out = (vecs * vals[..., None, :]) @ np.swapaxes(vecs, -1, -2)
    return (out + np.swapaxes(out, -1, -2)) / 2   # exactly symmetric despite rounding


def clip_spectrum(lam, c: float, sigma2=1.0) -> np.ndarray:
    """Eigenvalue clipping at the MP upper edge.

    Eigenvalues ``<= sigma2 (1 + sqrt(c))^2`` (the noise bulk, including any zero
    eigenvalues) are all replaced by their mean; those above are kept. The sum of
    the eigenvalues (the trace) is unchanged.

    Parameters
    ----------
    lam : array_like, shape (..., p)
        Sample eigenvalues.
    c : float
        MP ratio ``p / n_samples``.
    sigma2 : float or array_like, shape (...)
        Noise level; 1 for correlation matrices.

    Returns
    -------
    cleaned : ndarray, shape (..., p)
    """
    lam = np.asarray(lam, dtype=np.float64)
    if not c > 0:
        raise ValueError(f"ratio c must be positive, got {c}")
    edge = np.asarray(sigma2, dtype=np.float64)[..., None] * (1 + np.sqrt(c)) ** 2
    bulk = lam <= edge
    n_bulk = bulk.sum(axis=-1, keepdims=True)
    mean_bulk = np.sum(np.where(bulk, lam, 0.0), axis=-1, keepdims=True) / np.maximum(n_bulk, 1)
    return np.where(bulk, mean_bulk, lam)


def clip_eigenvalues(S, n_samples: float, *, sigma2=None) -> np.ndarray:
    """Clean covariance or correlation matrices by MP eigenvalue clipping.

    Parameters
    ----------
    S : array_like, shape (..., p, p)
        Sample covariance or correlation matrices.
    n_samples : float
        (Effective) number of independent samples behind ``S``; ``c = p / n_samples``.
    sigma2 : float or array_like, optional
        MP noise level; default ``tr(S) / p`` (1 for correlation matrices).

    Returns
    -------
    cleaned : ndarray, shape (..., p, p)
        Same eigenvectors and trace as ``S``; positive definite whenever the bulk
        contains a positive eigenvalue (always, for a non-zero ``S``: the mean
        eigenvalue is at most the MP edge).
    """
    S = _check_square(S)
    if not n_samples > 0:
        raise ValueError(f"n_samples must be positive, got {n_samples}")
    p = S.shape[-1]
    if sigma2 is None:
        sigma2 = np.trace(S, axis1=-2, axis2=-1) / p
    lam, vecs = np.linalg.eigh(S)
    return _reconstruct(vecs, clip_spectrum(lam, p / n_samples, sigma2))


def shrink_spectrum(lam, n_samples: int) -> np.ndarray:
    """Ledoit-Wolf (2020) analytical nonlinear shrinkage of sample eigenvalues.

    Transcribes the published algorithm (Ledoit & Wolf 2020, Section 4 and the
    Matlab code in their appendix): the density ``f`` of the sample spectrum and
    its Hilbert transform ``Hf`` are estimated with an Epanechnikov kernel of
    locally adaptive bandwidth ``h * lambda_j``, ``h = n^(-1/3)`` (eqs. 4.7-4.9);
    then for ``p <= n``

    ``d_i = lambda_i / ((pi c lambda_i f_i)^2 + (1 - c - pi c lambda_i Hf_i)^2)``,
    ``c = p / n`` (eq. 4.3), and for ``p > n`` the ``n`` non-zero eigenvalues get
    ``lambda_i / (pi^2 lambda_i^2 (f_i^2 + Hf_i^2))`` and the ``p - n`` null ones the
    common value ``1 / (pi (p - n) / n * Hf0)`` (eqs. C.4-C.8).

    Parameters
    ----------
    lam : array_like, shape (..., p)
        Eigenvalues of ``S = X^T X / n``, ascending.
    n_samples : int
        Effective sample size ``n`` (``T - 1`` after demeaning; rounded to an integer,
        since for ``p > n`` it fixes how many eigenvalues are null); at least 12, so
        that ``sqrt(5) h < 1`` as the ``p > n`` formula requires.

    Returns
    -------
    shrunk : ndarray, shape (..., p)
    """
    lam = np.asarray(lam, dtype=np.float64)
    n = int(round(float(n_samples)))
    p = lam.shape[-1]
    if n < 12:
        raise ValueError(f"analytical nonlinear shrinkage needs n_samples >= 12, got {n_samples}")
    if np.any(np.diff(lam, axis=-1) < 0):
        raise ValueError("eigenvalues must be sorted in ascending order")
    # eigenvalues that can be non-zero: all of them if p <= n, the top n otherwise
    lam_nz = lam[..., p - n:] if p > n else lam
    if np.any(lam_nz <= 0):
        raise ValueError("the sample covariance has zero or negative eigenvalues beyond the "
                         f"{max(0, p - n)} expected from p={p} > n={n}: it is rank "
                         "deficient (e.g. average reference); remove the null directions "
                         "first or pass the correct n_samples")
    h = n ** (-1.0 / 3.0)
    li = lam_nz[..., :, None]                      # lambda_i  (rows)
    lj = lam_nz[..., None, :]                      # lambda_j  (columns)
    bw = h * lj                                    # local bandwidth h * lambda_j
    x = (li - lj) / bw
    f_tilde = (3 / 4 / _SQRT5) * np.mean(np.maximum(1 - x ** 2 / 5, 0) / bw, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_term = np.log(np.abs((_SQRT5 - x) / (_SQRT5 + x)))
    hf_temp = (-3 / 10 / np.pi) * x + (3 / 4 / _SQRT5 / np.pi) * (1 - x ** 2 / 5) * log_term
    at_edge = np.abs(x) == _SQRT5
    hf_temp = np.where(at_edge, (-3 / 10 / np.pi) * x, hf_temp)
    hf_tilde = np.mean(hf_temp / bw, axis=-1)
    if p <= n:
        c = p / n
        return lam_nz / ((np.pi * c * lam_nz * f_tilde) ** 2
                         + (1 - c - np.pi * c * lam_nz * hf_tilde) ** 2)
    hf0 = (1 / np.pi) * (3 / 10 / h ** 2 + 3 / 4 / _SQRT5 / h * (1 - 1 / 5 / h ** 2)
                         * np.log((1 + _SQRT5 * h) / (1 - _SQRT5 * h))) \
        * np.mean(1 / lam_nz, axis=-1)
    d0 = 1 / (np.pi * (p - n) / n * hf0)
    d1 = lam_nz / (np.pi ** 2 * lam_nz ** 2 * (f_tilde ** 2 + hf_tilde ** 2))
    d0 = np.broadcast_to(np.asarray(d0)[..., None], lam.shape[:-1] + (p - lam_nz.shape[-1],))
    return np.concatenate([d0, d1], axis=-1)


def analytic_nonlinear_shrinkage(S, n_samples: int) -> np.ndarray:
    """Ledoit-Wolf (2020) analytical nonlinear shrinkage of sample covariance matrices.

    Parameters
    ----------
    S : array_like, shape (..., p, p)
        Sample covariances ``X^T X / n`` (for data demeaned by their sample mean: the
        unbiased covariance, with ``n = T - 1``).
    n_samples : int
        Effective sample size ``n`` (>= 12).

    Returns
    -------
    shrunk : ndarray, shape (..., p, p)
        Sample eigenvectors with the shrunk eigenvalues of :func:`shrink_spectrum`;
        positive definite.

    Notes
    -----
    Under the Minimum-Variance / Frobenius losses it asymptotically matches the
    oracle that knows the population covariance's projections on the sample
    eigenvectors, and needs no numerical optimisation (unlike QuEST-based
    nonlinear shrinkage): cost ``O(p^3)`` for the eigen-decomposition plus ``O(p^2)``.
    """
    S = _check_square(S)
    lam, vecs = np.linalg.eigh(S)
    return _reconstruct(vecs, shrink_spectrum(lam, n_samples))
