"""The Marchenko-Pastur law and the BBP spiked model, as plain functions.

Conventions used throughout :mod:`neurodx.rmt`
-----------------------------------------------
A window holds ``N`` channels and ``T`` (effective) samples; the sample
covariance is ``S = X X^T / T`` with ``X`` of shape ``(N, T)`` and i.i.d. entries
of variance ``sigma2``. The *ratio* is ``c = N / T``. As ``N, T -> inf`` with
``N / T -> c`` the eigenvalue distribution of ``S`` tends to the Marchenko-Pastur
law

* a continuous part on ``[lambda_-, lambda_+]``, ``lambda_+- = sigma2 (1 +- sqrt(c))^2``,
  with density ``sqrt((lambda_+ - x)(x - lambda_-)) / (2 pi sigma2 c x)``,
* and, when ``c > 1``, a point mass ``1 - 1/c`` at zero (``S`` has rank ``T < N``),
  so the continuous part then carries mass ``1/c``.

Sample *correlation* matrices of independent channels follow the same law with
``sigma2 = 1`` (Jiang 2004), which is why the correlation spectra of
:class:`~neurodx.rmt.EigenSpectra` are compared with ``sigma2 = 1``.

References
----------
Marchenko V. A., Pastur L. A. (1967). Distribution of eigenvalues for some sets of
random matrices. Math. USSR-Sbornik 1(4), 457-483.
Bai Z., Silverstein J. W. (2010). Spectral Analysis of Large Dimensional Random
Matrices, 2nd ed., Springer (moments: Lemma 3.1).
Baik J., Ben Arous G., Peche S. (2005). Phase transition of the largest eigenvalue
for nonnull complex sample covariance matrices. Ann. Probab. 33(5), 1643-1697.
Baik J., Silverstein J. W. (2006). Eigenvalues of large sample covariance matrices
of spiked population models. J. Multivariate Anal. 97(6), 1382-1408.
"""
from __future__ import annotations

import numpy as np
from scipy.special import comb

__all__ = [
    "marchenko_pastur_edges",
    "marchenko_pastur_pdf",
    "marchenko_pastur_cdf",
    "marchenko_pastur_moments",
    "sample_marchenko_pastur",
    "bbp_threshold",
    "spike_location",
    "spike_strength",
]


def _check_c_sigma2(c, sigma2):
    c = float(c)
    sigma2 = float(sigma2)
    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"ratio c = N / T must be a positive finite number, got {c}")
    if not (np.isfinite(sigma2) and sigma2 > 0):
        raise ValueError(f"sigma2 must be a positive finite number, got {sigma2}")
    return c, sigma2


def marchenko_pastur_edges(c: float, sigma2: float = 1.0) -> tuple[float, float]:
    """Edges ``(lambda_-, lambda_+)`` of the continuous part of the MP law.

    Parameters
    ----------
    c : float
        Ratio ``N / T`` (any positive value; for ``c > 1`` the lower edge is the
        edge of the non-zero eigenvalues, the point mass sits at 0).
    sigma2 : float
        Variance of the entries.

    Returns
    -------
    lower, upper : float
        ``sigma2 * (1 - sqrt(c))**2`` and ``sigma2 * (1 + sqrt(c))**2``.
    """
    c, sigma2 = _check_c_sigma2(c, sigma2)
    r = np.sqrt(c)
    return sigma2 * (1.0 - r) ** 2, sigma2 * (1.0 + r) ** 2


def marchenko_pastur_pdf(x, c: float, sigma2: float = 1.0) -> np.ndarray:
    """Density of the continuous part of the MP law.

    It integrates to 1 for ``c <= 1`` and to ``1 / c`` for ``c > 1``; the
    remaining ``1 - 1/c`` is the point mass at zero, which a density cannot show
    (see :func:`marchenko_pastur_cdf`).

    Parameters
    ----------
    x : array_like
        Points at which to evaluate.
    c : float
        Ratio ``N / T``.
    sigma2 : float
        Variance of the entries.

    Returns
    -------
    pdf : ndarray, same shape as ``x``
        Zero outside ``(lambda_-, lambda_+)``.
    """
    lower, upper = marchenko_pastur_edges(c, sigma2)
    x = np.asarray(x, dtype=np.float64)
    inside = (x > lower) & (x < upper) & (x > 0)
    # evaluate only inside the support: outside the radicand is negative and x may be 0
    xs = np.where(inside, x, 1.0)
    dens = np.sqrt(np.clip((upper - xs) * (xs - lower), 0.0, None)) / (2 * np.pi * sigma2 * c * xs)
    return np.where(inside, dens, 0.0)


def marchenko_pastur_cdf(x, c: float, sigma2: float = 1.0) -> np.ndarray:
    """Cumulative distribution function of the MP law, point mass included.

    Closed form obtained with ``x = sigma2 (1 + c - 2 sqrt(c) cos(theta))``: the
    integral of the density becomes elementary,

    ``F = (2/pi) [sin(theta) / (2 sqrt(c)) + (1 + c) theta / (4 c)
    - |1 - c| / (2 c) * arctan(r tan(theta / 2))]``,  ``r = (1 + sqrt(c)) / |1 - sqrt(c)|``,

    plus ``1 - 1/c`` for ``c > 1`` (the atom at zero, counted for ``x >= 0``).

    Parameters
    ----------
    x : array_like
        Points at which to evaluate.
    c : float
        Ratio ``N / T``.
    sigma2 : float
        Variance of the entries.

    Returns
    -------
    cdf : ndarray, same shape as ``x``
        Non-decreasing from 0 to 1.
    """
    c, sigma2 = _check_c_sigma2(c, sigma2)
    x = np.asarray(x, dtype=np.float64) / sigma2
    sq = np.sqrt(c)
    lower, upper = (1 - sq) ** 2, (1 + sq) ** 2
    theta = np.arccos(np.clip((1 + c - x) / (2 * sq), -1.0, 1.0))
    if c == 1.0:
        # the arctan term has weight |1 - c| = 0 (and r = inf): drop it
        atan_term = 0.0
    else:
        r = (1 + sq) / abs(1 - sq)
        atan_term = abs(1 - c) / (2 * c) * np.arctan(r * np.tan(theta / 2))
    cont = (2 / np.pi) * (np.sin(theta) / (2 * sq) + (1 + c) * theta / (4 * c) - atan_term)
    cont_mass = min(1.0, 1.0 / c)
    cont = np.where(x <= lower, 0.0, np.where(x >= upper, cont_mass, cont))
    atom = (1.0 - 1.0 / c) * (x >= 0) if c > 1 else 0.0
    return np.clip(cont + atom, 0.0, 1.0)


def marchenko_pastur_moments(k, c: float, sigma2: float = 1.0) -> np.ndarray:
    """Moments ``E[lambda^k]`` of the MP law (point mass included).

    They are Narayana polynomials in ``c``:
    ``m_k = sigma2^k * sum_{r=0}^{k-1} c^r / (r + 1) * C(k, r) * C(k - 1, r)``,
    i.e. ``1``, ``1 + c``, ``1 + 3c + c^2``, ``1 + 6c + 6c^2 + c^3`` for k = 1..4
    (Bai & Silverstein 2010, Lemma 3.1). They are the limits of
    ``tr(S^k) / N``; finite-size corrections are ``O(1/T)``
    (e.g. ``E tr(S^2)/N = 1 + c + 1/T`` for Gaussian data).

    Parameters
    ----------
    k : int or array_like of int
        Orders ``>= 0`` (``k = 0`` gives 1).
    c : float
        Ratio ``N / T``.
    sigma2 : float
        Variance of the entries.

    Returns
    -------
    moments : ndarray, same shape as ``k``
    """
    c, sigma2 = _check_c_sigma2(c, sigma2)
    k_arr = np.asarray(k)
    if not np.issubdtype(k_arr.dtype, np.integer) or np.any(k_arr < 0):
        raise ValueError(f"moment orders must be non-negative integers, got {k!r}")
    out = np.empty(k_arr.shape, dtype=np.float64)
    for idx, kk in np.ndenumerate(k_arr):
        kk = int(kk)
        if kk == 0:
            out[idx] = 1.0
            continue
        r = np.arange(kk)
        out[idx] = sigma2 ** kk * np.sum(c ** r / (r + 1) * comb(kk, r) * comb(kk - 1, r))
    return out


def sample_marchenko_pastur(n: int, t: int, size: int = 1, *, sigma2: float = 1.0,
                            kind: str = "covariance", random_state=None,
                            dtype=np.float64, chunk_elements: int = 2 ** 24) -> np.ndarray:
    """Eigenvalues of white Wishart (or white-noise correlation) matrices.

    Draws ``X`` of shape ``(n, t)`` with i.i.d. ``N(0, sigma2)`` entries and returns the
    eigenvalues of ``S = X X^T / t`` (``kind="covariance"``) or of the corresponding
    correlation matrix ``D^-1/2 S D^-1/2`` (``kind="correlation"``; ``sigma2`` then
    plays no role). The data are *not* demeaned: ``t`` is the number of degrees of
    freedom, so pass ``T - 1`` to mimic demeaned windows of ``T`` samples.

    Parameters
    ----------
    n, t : int
        Dimension and number of samples; ``c = n / t``.
    size : int
        Number of independent matrices.
    sigma2 : float
        Variance of the entries (covariance only).
    kind : {"covariance", "correlation"}
    random_state : int | numpy.random.Generator | None
        Seed or generator.
    dtype : numpy dtype
        Working precision (float64 by default: theory tests need it).
    chunk_elements : int
        Matrices are drawn in chunks of about this many Gaussian numbers, so memory
        stays bounded for large ``size * n * t``.

    Returns
    -------
    eigenvalues : ndarray, shape (size, n)
        Ascending in each row.
    """
    n, t, size = int(n), int(t), int(size)
    if n < 1 or t < 1 or size < 1:
        raise ValueError(f"n, t and size must be positive integers, got n={n}, t={t}, size={size}")
    if kind not in ("covariance", "correlation"):
        raise ValueError(f"kind must be 'covariance' or 'correlation', got {kind!r}")
    _check_c_sigma2(n / t, sigma2)
    rng = np.random.default_rng(random_state)
    dtype = np.dtype(dtype)
    per_chunk = max(1, chunk_elements // (n * t))
    out = np.empty((size, n), dtype=dtype)
    for start in range(0, size, per_chunk):
        stop = min(size, start + per_chunk)
        x = rng.standard_normal((stop - start, n, t), dtype=dtype)
        s = x @ x.transpose(0, 2, 1)
        if kind == "correlation":
            d = 1.0 / np.sqrt(np.einsum("kii->ki", s))
            s = s * d[:, :, None] * d[:, None, :]
        else:
            s *= sigma2 / t
        out[start:stop] = np.linalg.eigvalsh(s)
    return out


def bbp_threshold(c: float) -> float:
    """BBP detection threshold ``sqrt(c)`` on the spike strength ``l``.

    Convention (Baik, Ben Arous & Peche 2005; Baik & Silverstein 2006): the population
    covariance is ``sigma2 * diag(1 + l, 1, ..., 1)``, i.e. ``l`` is the spike's *excess*
    over the noise level. The spike separates from the bulk (the largest sample
    eigenvalue leaves the MP edge) iff ``l > sqrt(c)``, i.e. population eigenvalue
    ``> 1 + sqrt(c)``.
    """
    c, _ = _check_c_sigma2(c, 1.0)
    return float(np.sqrt(c))


def spike_location(l, c: float, sigma2: float = 1.0) -> np.ndarray:
    """Almost-sure limit of the largest sample eigenvalue in the one-spike model.

    With population covariance ``sigma2 * diag(1 + l, 1, ..., 1)`` (see
    :func:`bbp_threshold`) the top sample eigenvalue tends to
    ``sigma2 * (1 + l) * (1 + c / l)`` when ``l > sqrt(c)`` and sticks to the MP upper
    edge ``sigma2 * (1 + sqrt(c))^2`` otherwise (the two agree at ``l = sqrt(c)``).

    Parameters
    ----------
    l : array_like
        Spike strength(s), ``>= 0``.
    c : float
        Ratio ``N / T``.
    sigma2 : float
        Noise variance.

    Returns
    -------
    location : ndarray, same shape as ``l``
    """
    c, sigma2 = _check_c_sigma2(c, sigma2)
    l = np.asarray(l, dtype=np.float64)
    if np.any(l < 0):
        raise ValueError(f"spike strengths must be >= 0, got {l}")
    thr = np.sqrt(c)
    safe = np.where(l > thr, l, 1.0)
    return np.where(l > thr, sigma2 * (1 + safe) * (1 + c / safe), sigma2 * (1 + thr) ** 2)


def spike_strength(lam, c: float, sigma2: float = 1.0) -> np.ndarray:
    """Invert :func:`spike_location`: the spike strength ``l`` behind an outlier.

    Solves ``lam / sigma2 = (1 + l)(1 + c / l)`` for the root ``l > sqrt(c)``:
    ``l = (a + sqrt(a^2 - 4c)) / 2`` with ``a = lam / sigma2 - 1 - c``.

    Returns
    -------
    l : ndarray, same shape as ``lam``
        NaN where ``lam`` does not exceed the MP upper edge (no detectable spike).
    """
    c, sigma2 = _check_c_sigma2(c, sigma2)
    x = np.asarray(lam, dtype=np.float64) / sigma2
    edge = (1 + np.sqrt(c)) ** 2
    a = x - 1 - c
    disc = np.clip(a * a - 4 * c, 0.0, None)
    return np.where(x > edge, (a + np.sqrt(disc)) / 2, np.nan)
