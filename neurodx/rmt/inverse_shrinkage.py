"""Nonlinear shrinkage of the *inverse* eigenvalues: Ledoit & Wolf's LIS, QIS and GIS.

The tangent-space route takes a matrix logarithm, so what matters is the error
of a covariance estimate on the log scale, where small eigenvalues weigh as much
as large ones. Ledoit-Wolf 2020 shrinkage (:func:`neurodx.rmt.shrink_spectrum`) is
optimal under the Frobenius loss, which is dominated by the large eigenvalues;
the estimators here are optimal under losses that also see the small ones:

* ``"lis"`` -- linear-inverse shrinkage, Stein's loss (needs ``p <= n``);
* ``"qis"`` -- quadratic-inverse shrinkage, Frobenius loss on the precision
  matrix / inverse Stein's loss / minimum variance (any ``p / n``);
* ``"gis"`` -- geometric-inverse shrinkage, the symmetrised Kullback-Leibler
  loss (a geometric mean of LIS and QIS; ``p <= n``), the closest of the three to
  the affine-invariant Riemannian distance used by the tangent map.

Measured (``validation/research/README.md``): on 60-s EEG recordings (ADHD vs control,
19 channels) the whole-recording MP ratio is small and all three give the same
tangent-space accuracy as LW2020 (0.787-0.790 vs 0.797 for the OAS baseline), so they
are offered as ``method`` values, not as a new default.

All three work on the inverse sample eigenvalues ``l_i = 1 / lambda_i`` with a
Cauchy kernel of locally adaptive bandwidth ``h l_j``,
``h = min(c^2, 1/c^2)^0.35 / p^0.35``:

``theta_i = mean_j l_j (l_j - l_i) / ((l_j - l_i)^2 + h^2 l_j^2)`` (smoothed Stein
shrinker) and ``H_i = mean_j h l_j^2 / ((l_j - l_i)^2 + h^2 l_j^2)`` (its conjugate);

then ``1 / d_i^LIS = (1 - c) l_i + 2 c l_i theta_i`` (floored at ``min_j l_j``),
``1 / d_i^QIS = (1 - c)^2 l_i + 2 c (1 - c) l_i theta_i + c^2 l_i (theta_i^2 + H_i^2)``
(rescaled to keep the trace; for ``p > n`` the ``p - n`` null eigenvalues get
``1 / ((c - 1) mean(l))`` and the others ``1 / (l_i (theta_i^2 + H_i^2))``), and
``d_i^GIS = sqrt(d_i^QIS d_i^LIS)`` (QIS before its trace rescaling).

References
----------
Ledoit O., Wolf M. (2022). Quadratic shrinkage for large covariance matrices.
Bernoulli 28(3), 1519-1547.
Ledoit O., Wolf M. (2021). Shrinkage estimation of large covariance matrices: keep
it simple, statistician? J. Multivariate Anal. 186, 104796 (LIS, GIS).
Reference code: https://github.com/pald22/covShrinkage (``LIS``, ``QIS``, ``GIS``).
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError

__all__ = ["INVERSE_SHRINKAGE_METHODS", "shrink_spectrum_inverse"]

INVERSE_SHRINKAGE_METHODS = ("lis", "qis", "gis")
# eigenvalues of a correlation matrix below this are structural zeros (average
# reference), as in neurodx.rmt.covariances.clean_correlation


def _kernel(inv, h):
    lj = inv[..., None, :]
    d = lj - inv[..., :, None]
    den = d ** 2 + h ** 2 * lj ** 2
    theta = np.mean(lj * d / den, axis=-1)
    h_theta = np.mean(h * lj ** 2 / den, axis=-1)
    return theta, h_theta


def shrink_spectrum_inverse(lam, n_samples: float, method: str = "gis") -> np.ndarray:
    """Shrunk eigenvalues under Stein (LIS), inverse-Stein (QIS) or symmetrised KL (GIS) loss.

    Parameters
    ----------
    lam : array_like, shape (p,)
        Sample eigenvalues of ``S = X^T X / n``, ascending, the top ``min(p, n)`` positive.
    n_samples : float
        Effective sample size ``n`` (rounded to an integer: for ``p > n`` it fixes the
        number of null eigenvalues).
    method : {"lis", "qis", "gis"}

    Returns
    -------
    shrunk : ndarray, shape (p,)
        Positive, ascending in the same order as ``lam`` up to the kernel's smoothing.
    """
    if method not in INVERSE_SHRINKAGE_METHODS:
        raise ConfigError(f"method must be one of {INVERSE_SHRINKAGE_METHODS}, got {method!r}")
    lam = np.asarray(lam, dtype=np.float64)
    if lam.ndim != 1 or lam.size < 2:
        raise ValueError(f"expected a 1-D spectrum of at least 2 eigenvalues, got {lam.shape}")
    if np.any(np.diff(lam) < 0):
        raise ValueError("eigenvalues must be sorted in ascending order")
    p, n = lam.size, int(round(float(n_samples)))
    if n < 2:
        raise ValueError(f"n_samples must be at least 2, got {n_samples}")
    if p > n and method != "qis":
        raise ValueError(f"{method.upper()} is derived for p <= n (got p={p} > n={n}); use "
                         f"'qis' for rank-deficient matrices")
    lam_nz = lam[p - n:] if p > n else lam
    if np.any(lam_nz <= 0):
        raise ValueError("the sample covariance is rank deficient beyond p - n: remove the "
                         "null directions first or pass the correct n_samples")
    c = p / n
    h = min(c ** 2, 1 / c ** 2) ** 0.35 / p ** 0.35
    inv = 1.0 / lam_nz
    theta, h_theta = _kernel(inv, h)
    a2 = theta ** 2 + h_theta ** 2
    if p > n:   # QIS only
        d0 = np.full(p - n, 1.0 / ((c - 1) * inv.mean()))
        d = np.concatenate([d0, 1.0 / (inv * a2)])
        return d * (lam.sum() / d.sum())
    d_qis = 1.0 / ((1 - c) ** 2 * inv + 2 * c * (1 - c) * inv * theta + c ** 2 * inv * a2)
    if method == "qis":
        return d_qis * (lam.sum() / d_qis.sum())
    inv_lis = np.maximum((1 - c) * inv + 2 * c * inv * theta, inv.min())
    if method == "lis":
        return 1.0 / inv_lis
    return np.sqrt(d_qis / inv_lis)
