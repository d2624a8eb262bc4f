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


# G(v) = -sum_k 2 v^k / ((2k + 1)(2k + 3)), v = u^2 (see _kernel_estimates): used for
# v < 1/16, where 14 terms reach float64 round-off (16^-14 ~ 1e-17).
_G_COEFS = np.array([-2.0 / ((2 * k + 1) * (2 * k + 3)) for k in range(14)])[::-1]
_FAR = 4.0   # |w| above which the series form of the Hilbert term is used


def _kernel_estimates(lam, h):
    """Kernel density ``f`` and its Hilbert transform ``Hf`` (LW 2020, eqs. 4.7-4.9).

    Parameters
    ----------
    lam : ndarray, shape (..., m)
        Positive sample eigenvalues (scaled to mean 1 by the caller).
    h : float
        Global bandwidth ``n^(-1/3)``; eigenvalue ``j`` has bandwidth ``h lam_j``.

    Returns
    -------
    f, hf : ndarray, shape (..., m)

    Notes
    -----
    With ``w = (lam_i - lam_j) / (sqrt5 h lam_j)``, term ``(i, j)`` of the published
    Hilbert sum is ``(3 / (2 sqrt5 pi)) B(w) / (h lam_j)`` with
    ``B(w) = -w + (1 - w^2) / 2 * log|(1 - w) / (1 + w)|``. Far outside the kernel's
    support (``|w| >> 1``: a tiny ``lam_j`` seen from a bulk ``lam_i``) both parts of
    ``B`` are ~``w`` and cancel to ``O(1 / w)``, so the published transcription loses
    about ``log10(w^2)`` digits and then divides the remainder by the tiny bandwidth:
    every digit is gone once ``lam_j / mean`` nears 1e-8. With ``u = 1 / w`` the
    series of ``artanh`` gives ``B = u G(u^2)``, ``G(v) = -sum_k 2 v^k / ((2k + 1)
    (2k + 3))``, hence the term ``(3 / (2 pi)) G(u^2) / (lam_i - lam_j)``: nothing
    cancels and the bandwidth drops out. That form is used for ``|w| > 4``; closer in,
    ``B`` is evaluated directly with ``artanh`` (a ``log1p`` form of the logarithm),
    losing at most a factor ~25 of round-off. At ``|w| = 1`` the paper sets
    ``B = -w`` (the logarithm's singularity is cancelled by ``1 - w^2``).
    """
    li = lam[..., :, None]
    lj = lam[..., None, :]
    bw = h * lj
    diff = li - lj
    w = diff / (_SQRT5 * bw)
    f = (3 / 4 / _SQRT5) * np.mean(np.maximum(1 - w ** 2, 0) / bw, axis=-1)
    far = np.abs(w) > _FAR
    # direct form where it is accurate; far entries get a harmless placeholder
    wd = np.where(far, 0.0, w)
    edge = np.abs(wd) == 1
    inside = np.abs(wd) < 1
    with np.errstate(divide="ignore"):
        # log|(1 - w) / (1 + w)| = -2 artanh(w) inside the support, -2 artanh(1 / w) outside
        atanh = np.arctanh(np.where(inside, wd, 1 / np.where(inside | edge, 2.0, wd)))
    b = np.where(edge, -wd, -wd - (1 - wd ** 2) * atanh)
    direct = (3 / (2 * _SQRT5 * np.pi)) * b / bw
    u2 = np.where(far, 1 / np.where(far, w, 1.0) ** 2, 0.0)
    series = (3 / (2 * np.pi)) * np.polyval(_G_COEFS, u2) / np.where(far, diff, 1.0)
    hf = np.mean(np.where(far, series, direct), axis=-1)
    return f, hf


def shrink_spectrum(lam, n_samples: int) -> np.ndarray:
    """Ledoit-Wolf (2020) analytical nonlinear shrinkage of sample eigenvalues.

    Evaluates the published algorithm (Ledoit & Wolf 2020, Section 4 and the
    Matlab code in their appendix): the density ``f`` of the sample spectrum and
    its Hilbert transform ``Hf`` are estimated with an Epanechnikov kernel of
    locally adaptive bandwidth ``h * lambda_j``, ``h = n^(-1/3)`` (eqs. 4.7-4.9);
    then for ``p <= n``

    ``d_i = lambda_i / ((pi c lambda_i f_i)^2 + (1 - c - pi c lambda_i Hf_i)^2)``,
    ``c = p / n`` (eq. 4.3), and for ``p > n`` (a rank-deficient sample covariance)
    the ``n`` non-zero eigenvalues get ``lambda_i / (pi^2 lambda_i^2 (f_i^2 + Hf_i^2))``
    and the ``p - n`` null ones the common value ``1 / (pi (p - n) / n * Hf0)``
    (eqs. C.4-C.8).

    The formula is evaluated so that it stays accurate to round-off (~1e-15 relative
    against a 50-digit evaluation) when the smallest eigenvalue is tiny next to the
    others (``lambda_min / mean`` of 1e-12 and below: near-singular covariances, e.g.
    an interpolated EEG channel),
    where a literal transcription loses every digit to cancellation in the Hilbert
    term (see :func:`_kernel_estimates`); eigenvalues are scaled to mean 1 first
    (the estimator is scale-equivariant).

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
    scale = lam_nz.mean(axis=-1, keepdims=True)
    lam_nz = lam_nz / scale
    f_tilde, hf_tilde = _kernel_estimates(lam_nz, h)
    if p <= n:
        c = p / n
        return scale * lam_nz / ((np.pi * c * lam_nz * f_tilde) ** 2
                                 + (1 - c - np.pi * c * lam_nz * hf_tilde) ** 2)
    hf0 = (1 / np.pi) * (3 / 10 / h ** 2 + 3 / 4 / _SQRT5 / h * (1 - 1 / 5 / h ** 2)
                         * np.log((1 + _SQRT5 * h) / (1 - _SQRT5 * h))) \
        * np.mean(1 / lam_nz, axis=-1)
    d0 = 1 / (np.pi * (p - n) / n * hf0)
    d1 = lam_nz / (np.pi ** 2 * lam_nz ** 2 * (f_tilde ** 2 + hf_tilde ** 2))
    d0 = np.broadcast_to(np.asarray(d0)[..., None], lam.shape[:-1] + (p - lam_nz.shape[-1],))
    return scale * np.concatenate([d0, d1], axis=-1)


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
