"""Power-law tail fit of an eigenvalue density: Clauset-Shalizi-Newman (2009) MLE.

For a continuous power law ``p(x) ~ x^(-alpha)`` on ``x >= xmin`` the maximum
likelihood exponent is ``alpha = 1 + n / sum(log(x_i / xmin))`` over the ``n``
values above ``xmin``; ``xmin`` is the candidate minimising the Kolmogorov-Smirnov
distance ``D`` between the tail's empirical CDF and the fitted one,
``1 - (x / xmin)^(1 - alpha)``. This is the fit of the ``powerlaw`` package
(Alstott et al. 2014) that WeightWatcher uses for its layer ``alpha`` (Martin &
Mahoney 2021); it is written out here (a few lines of numpy) rather than adding a
dependency. ``D`` at the chosen ``xmin`` is the goodness of fit WeightWatcher
reports; the CSN bootstrap p-value is not computed (it costs hundreds of refits).

References
----------
Clauset A., Shalizi C. R., Newman M. E. J. (2009). Power-law distributions in
empirical data. SIAM Review 51(4), 661-703.
Alstott J., Bullmore E., Plenz D. (2014). powerlaw: a Python package for analysis
of heavy-tailed distributions. PLoS ONE 9(1), e85777.
"""
from __future__ import annotations

import numpy as np

__all__ = ["fit_power_law"]


def fit_power_law(x, *, min_tail: int = 5) -> dict:
    """Fit ``alpha`` and ``xmin`` of a continuous power-law tail (CSN 2009).

    Parameters
    ----------
    x : array_like
        Positive samples (eigenvalues); non-positive values are ignored.
    min_tail : int
        Fewest samples a candidate tail may hold (CSN's estimate of ``alpha``
        has a standard error ``(alpha - 1) / sqrt(n)``: tiny tails are noise).

    Returns
    -------
    dict
        ``alpha``, ``xmin``, ``ks`` (KS distance of the fit), ``n_tail`` and
        ``alpha_se`` = ``(alpha - 1) / sqrt(n_tail)``; NaNs when fewer than
        ``min_tail`` positive distinct samples are given.
    """
    x = np.sort(np.asarray(x, dtype=np.float64).ravel())
    x = x[np.isfinite(x) & (x > 0)]
    nan = {"alpha": float("nan"), "xmin": float("nan"), "ks": float("nan"), "n_tail": 0,
           "alpha_se": float("nan")}
    if len(np.unique(x)) < min_tail:
        return nan
    logs = np.log(x)
    # Suffix sums of log x give sum(log(x_i / xmin)) for every candidate in O(1).
    suffix = np.cumsum(logs[::-1])[::-1]
    best = None
    for i in np.unique(x[: len(x) - min_tail + 1], return_index=True)[1]:
        n = len(x) - i
        denom = suffix[i] - n * logs[i]
        if denom <= 0:
            continue
        alpha = 1.0 + n / denom
        tail = x[i:]
        fitted = 1.0 - (tail / x[i]) ** (1.0 - alpha)
        emp_hi = np.arange(1, n + 1) / n
        emp_lo = np.arange(0, n) / n
        ks = float(max(np.max(np.abs(emp_hi - fitted)), np.max(np.abs(emp_lo - fitted))))
        if best is None or ks < best["ks"]:
            best = {"alpha": float(alpha), "xmin": float(x[i]), "ks": ks, "n_tail": int(n),
                    "alpha_se": float((alpha - 1.0) / np.sqrt(n))}
    return best or nan
