"""Layer weight spectra of a trained network against the Marchenko-Pastur law.

Heavy-tailed self-regularisation (Martin & Mahoney 2021) reads a trained layer
through the empirical spectral density (ESD) of its weight matrix ``W``: a random
``W`` follows the Marchenko-Pastur (MP) law; training leaves spikes above the MP
bulk edge and, in well-trained layers, a power-law tail with exponent ``alpha``.

Conventions
-----------
* A dense layer's weight is ``(out, in)``. A convolution's weight
  ``(out, in, k1, ..., kd)`` is unfolded the way WeightWatcher does by default:
  one ``(out, in)`` matrix per kernel position (``k1 * ... * kd`` of them), and
  the eigenvalues of all of them pooled into one ESD. (The alternative, reshaping
  to ``(out, in * k1 * ... * kd)``, mixes spatial taps into one matrix.)
* Each matrix is oriented ``(N, M)`` with ``N >= M``; the ESD is the eigenvalues
  of ``W^T W / N`` (squared singular values over ``N``), ``c = M / N <= 1``. For
  i.i.d. entries of variance ``sigma2`` this tends to MP(``c``, ``sigma2``).
* **MP fit**: ``sigma2`` minimises the Kolmogorov-Smirnov distance between the
  ESD and the MP CDF (a grid over ``sigma2`` around the median match, then
  Brent). A few spikes move the empirical CDF by at most ``k / M``, so the fit
  follows the bulk; the KS distance is reported as the fit's quality.
* **Spikes**: eigenvalues above the fitted edge ``lambda_+ = sigma2 (1 + sqrt c)^2``
  by more than the finite-size fluctuation of a white matrix: the Tracy-Widom
  quantile ``1 - 0.01 / n_matrices`` with Johnstone's (2001) centring and scaling
  (one test per pooled matrix, Bonferroni).
* **alpha**: :func:`~neurodx.models.diagnostics.fit_power_law` on the ESD (CSN MLE,
  ``xmin`` by KS), as WeightWatcher's default ``PL`` fit.

References
----------
Martin C. H., Mahoney M. W. (2021). Implicit self-regularization in deep neural
networks: evidence from random matrix theory and implications for learning.
JMLR 22(165), 1-73.
Martin C. H., Peng T. S., Mahoney M. W. (2021). Predicting trends in the quality of
state-of-the-art neural networks without access to training or testing data.
Nature Communications 12, 4122.
Baik J., Ben Arous G., Peche S. (2005). Ann. Probab. 33(5), 1643-1697 (BBP spikes).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from torch import nn

from ...rmt.marchenko_pastur import marchenko_pastur_cdf, marchenko_pastur_edges
from ...rmt.tracy_widom import johnstone_scaling, tracy_widom_isf
from .powerlaw import fit_power_law

__all__ = ["layer_matrices", "weight_esd", "fit_marchenko_pastur", "layer_spectrum",
           "weight_spectra"]

#: Smallest ``min(N, M)`` for which an MP fit is attempted (below, the ESD has too few
#: eigenvalues per matrix for a bulk to exist).
MIN_DIM = 4
#: Fewest pooled eigenvalues for an MP fit and a power-law tail fit.
MIN_EIGS = 20


def layer_matrices(weight) -> np.ndarray:
    """The ``(n_matrices, out, in)`` matrices of a dense or convolutional weight.

    A dense weight ``(out, in)`` gives one matrix; a convolution weight
    ``(out, in, *kernel)`` gives one ``(out, in)`` matrix per kernel position.
    """
    w = np.asarray(weight.detach().cpu().numpy() if hasattr(weight, "detach") else weight,
                   dtype=np.float64)
    if w.ndim < 2:
        raise ValueError(f"a weight matrix needs at least 2 dimensions, got shape {w.shape}")
    out, inp = w.shape[:2]
    return np.moveaxis(w.reshape(out, inp, -1), 2, 0)


def weight_esd(matrices) -> tuple[np.ndarray, int, int]:
    """Pooled eigenvalues of ``W^T W / N`` over a stack ``(n_matrices, a, b)``.

    Returns the sorted eigenvalues and ``N = max(a, b)``, ``M = min(a, b)``.
    """
    mats = np.asarray(matrices, dtype=np.float64)
    n, m = max(mats.shape[1:]), min(mats.shape[1:])
    sv = np.linalg.svd(mats, compute_uv=False)          # batched: (n_matrices, M)
    return np.sort((sv ** 2 / n).ravel()), n, m


def _mp_median(c: float) -> float:
    lo, hi = marchenko_pastur_edges(c, 1.0)
    return brentq(lambda x: marchenko_pastur_cdf(x, c) - 0.5, max(lo, 1e-12), hi)




def _ks_mp(evals: np.ndarray, c: float, sigma2: float) -> float:
    f = marchenko_pastur_cdf(evals, c, sigma2)
    n = len(evals)
    return float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))


def fit_marchenko_pastur(evals, c: float, *, n_matrices: int = 1, n_dim: int | None = None,
                         level: float = 0.01) -> dict:
    """Fit MP(``c``, ``sigma2``) to an ESD by KS minimisation; count spikes above the edge.

    Parameters
    ----------
    evals : array_like
        Eigenvalues of ``W^T W / N`` (pooled over ``n_matrices`` matrices).
    c : float
        ``M / N <= 1``.
    n_matrices : int
        How many matrices were pooled (for the spike threshold's Bonferroni level).
    n_dim : int, optional
        ``N`` (rows of each matrix), for the Tracy-Widom fluctuation of the edge;
        without it, spikes are counted above the bare edge.
    level : float
        Family-wise false-spike rate of a white matrix.

    Returns
    -------
    dict
        ``sigma2``, ``lambda_minus``, ``lambda_plus``, ``spike_threshold``, ``ks``,
        ``n_spikes``, ``spikes`` (their eigenvalues, largest first).
    """
    evals = np.sort(np.asarray(evals, dtype=np.float64))
    if not len(evals) or not np.any(evals > 0):
        raise ValueError("the ESD is empty or identically zero")
    s0 = float(np.median(evals)) / _mp_median(c)
    s0 = s0 if s0 > 0 else float(np.mean(evals))
    grid = s0 * np.exp(np.linspace(-2.0, 2.0, 41))
    ks = np.array([_ks_mp(evals, c, s) for s in grid])
    k = int(np.argmin(ks))
    lo, hi = np.log(grid[max(k - 1, 0)]), np.log(grid[min(k + 1, len(grid) - 1)])
    res = minimize_scalar(lambda t: _ks_mp(evals, c, float(np.exp(t))), bounds=(lo, hi),
                          method="bounded", options={"xatol": 1e-4})
    sigma2 = float(np.exp(res.x)) if res.fun <= ks[k] else float(grid[k])
    lower, upper = marchenko_pastur_edges(c, sigma2)
    threshold = upper
    if n_dim is not None:
        m = int(round(c * n_dim))
        if m >= 2 and n_dim > 2:
            mu, scale = johnstone_scaling(m, n_dim)
            q = tracy_widom_isf(level / max(n_matrices, 1))
            # ``n_dim * lambda / sigma2`` is the white Wishart's top eigenvalue.
            threshold = max(upper, sigma2 * (mu + q * scale) / n_dim)
    spikes = evals[evals > threshold][::-1]
    return {"sigma2": sigma2, "lambda_minus": float(lower), "lambda_plus": float(upper),
            "spike_threshold": float(threshold), "ks": _ks_mp(evals, c, sigma2),
            "n_spikes": int(len(spikes)), "spikes": spikes.tolist()}


def layer_spectrum(weight, name: str = "", kind: str = "") -> dict:
    """ESD, MP fit, spikes and power-law ``alpha`` of one layer's weight (plain dict).

    Keys: ``name``, ``kind``, ``shape``, ``n_matrices``, ``N``, ``M``, ``c``,
    ``eigenvalues`` (sorted), ``mp`` (:func:`fit_marchenko_pastur`, or None with a
    ``note`` when the matrices are too small), ``n_spikes``, ``alpha``,
    ``alpha_xmin``, ``alpha_ks``, ``alpha_n_tail``, ``alpha_se`` (None when not
    fitted).
    """
    mats = layer_matrices(weight)
    evals, n, m = weight_esd(mats)
    out = {"name": name, "kind": kind, "shape": list(np.shape(weight)),
           "n_matrices": int(mats.shape[0]), "N": int(n), "M": int(m), "c": m / n,
           "eigenvalues": evals.tolist()}
    nan = float("nan")
    if m >= MIN_DIM and len(evals) >= MIN_EIGS and np.any(evals > 0):
        out["mp"] = fit_marchenko_pastur(evals, m / n, n_matrices=mats.shape[0], n_dim=n)
        out["n_spikes"] = out["mp"]["n_spikes"]
        out["note"] = ""
    else:
        out["mp"] = None
        out["n_spikes"] = None
        out["note"] = f"too small for an MP fit (min dimension {m}, {len(evals)} eigenvalues)"
    fit = fit_power_law(evals) if len(evals) >= MIN_EIGS else \
        {"alpha": nan, "xmin": nan, "ks": nan, "n_tail": 0, "alpha_se": nan}
    # None rather than NaN: the record goes to strict JSON files.
    fit = {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
           for k, v in fit.items()}
    out.update({"alpha": fit["alpha"], "alpha_xmin": fit["xmin"], "alpha_ks": fit["ks"],
                "alpha_n_tail": fit["n_tail"], "alpha_se": fit["alpha_se"]})
    return out


_LAYER_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def weight_spectra(module: nn.Module) -> list[dict]:
    """:func:`layer_spectrum` of every dense and convolutional layer of ``module``.

    Works on any :class:`torch.nn.Module`; layers come in ``named_modules`` order.
    """
    return [layer_spectrum(sub.weight, name, type(sub).__name__)
            for name, sub in module.named_modules() if isinstance(sub, _LAYER_TYPES)]
