"""LES of the non-zero part of the spectrum, for windows with fewer samples than channels.

When a window has fewer effective samples ``T_eff`` than channels ``N`` (``c = N / T_eff
> 1``; e.g. 200 atlas regions and 120-200 fMRI volumes), the MP law puts a point mass
``1 - 1/c`` at zero: ``N - T_eff`` eigenvalues of the window's correlation matrix are
zero by construction and say nothing about the brain, and test functions such as
``log`` are dominated by them. The statistics here use the other ``T_eff`` eigenvalues
only, compared with the law they follow under the white-noise null.

Derivation (the duality of ``X X^T`` and ``X^T X``)
---------------------------------------------------
Let ``X`` be ``N x m`` with i.i.d. ``N(0, sigma2)`` entries, ``m`` the degrees of freedom
of a window (``T - 1`` after demeaning ``T`` samples: demeaning is a projection onto
an ``(T - 1)``-dimensional subspace of time, so the demeaned window equals ``m = T - 1``
i.i.d. columns after an orthogonal rotation, which no eigenvalue sees). ``S = X X^T / m``
(``N x N``) and the dual ``S~ = X^T X / N`` (``m x m``) share their non-zero eigenvalues up
to the factor ``m / N``: ``lambda(S~) = (m / N) lambda(S)``. ``S~`` is itself a sample
covariance of dimension ``m`` with ``N`` samples, ratio ``c~ = m / N = 1 / c < 1``, so its
eigenvalues follow MP with ratio ``1 / c`` and no point mass. Equivalently, the ESD of
``S`` is ``(1 - 1/c) delta_0 + (1/c)`` times the law of ``c lambda`` with
``lambda ~ MP(1/c)`` (Bai & Silverstein 2010, Sect. 3.1, the "companion" matrix;
the point mass is stated e.g. in Baik & Silverstein 2006, eqs. 1.1-1.2). Sample
correlation matrices of independent channels follow the same law at ``sigma2 = 1``
for any ratio (Jiang 2004).

So the statistics take the ``m`` largest eigenvalues of each window (the non-zero part),
multiply them by ``m / N`` (they then average 1, since a correlation matrix has trace
``N``) and evaluate the test functions with the MP ratio ``m / N``. The white-noise null
is simulated at the exact finite size through the same steps (``N`` white channels, ``m``
samples, the ``m`` non-zero eigenvalues), so standardised statistics are about 0 for
white noise. For ``m >= N`` (``c <= 1``) nothing is cut: the statistics are the plain
LES of :class:`~neurodx.rmt.LinearEigenvalueStatistics` at ratio ``N / T_eff``.

References
----------
Bai Z., Silverstein J. W. (2010). Spectral Analysis of Large Dimensional Random
Matrices, 2nd ed., Springer, Sect. 3.1.
Baik J., Silverstein J. W. (2006). Eigenvalues of large sample covariance matrices of
spiked population models. J. Multivariate Anal. 97(6), 1382-1408 (arXiv:math/0408165).
Jiang T. (2004). The limiting distributions of eigenvalues of sample correlation
matrices. Sankhya 66(1), 35-48.
"""
from __future__ import annotations

from functools import lru_cache
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ..errors import ConfigError
from .aggregation import SubjectAggregator
from .bank import DEFAULT_FLOOR, DEFAULT_TEST_FUNCTIONS, _white_null, \
    evaluate_test_functions, get_test_function, null_moments
from .classifiers import make_classifier
from .les import check_fitted_layout, check_spectra
from .spectra import EigenSpectra

__all__ = ["NONZERO_TEST_FUNCTIONS", "nonzero_count", "nonzero_spectrum",
           "nonzero_null_moments", "NonZeroSpectrumLES", "make_les_nonzero_pipeline"]

#: Default bank of the non-zero-part statistics: the default LES bank without the
#: ring-law entries (``msr_l<L>`` need whole window matrices, not a part of a spectrum).
NONZERO_TEST_FUNCTIONS = tuple(n for n in DEFAULT_TEST_FUNCTIONS if not n.startswith("msr_"))


def nonzero_count(n_channels: int, n_samples: int, t_eff: float) -> int:
    """Eigenvalues per window that the MP law does not put at zero.

    ``min(N, T - 1, round(T_eff))``: a window of ``T`` demeaned samples has rank at most
    ``T - 1``, and filtered or autocorrelated data carry ``T_eff`` effective samples (the
    spectral ``T_eff`` is ``T - 1`` for white noise). At least 2.
    """
    return int(max(2, min(n_channels, n_samples - 1, int(round(t_eff)))))


def nonzero_spectrum(lam, m: int) -> np.ndarray:
    """The ``m`` largest eigenvalues, on the scale of the dual MP law of ratio ``m / N``.

    Parameters
    ----------
    lam : array_like, shape (..., N)
        Ascending spectra normalised to mean 1 (``WindowSpectra.normalized()``).
    m : int
        Non-zero eigenvalues kept (:func:`nonzero_count`).

    Returns
    -------
    dual : ndarray, shape (..., m)
        ``lam[..., -m:] * m / N``: eigenvalues of ``X^T X / N`` (mean 1 when the ``N - m``
        others are zero), to compare with ``MP(m / N)``.
    """
    lam = np.asarray(lam, dtype=np.float64)
    n = lam.shape[-1]
    if not 1 <= m <= n:
        raise ConfigError(f"cannot keep {m} of {n} eigenvalues")
    return lam[..., n - m:] * (m / n)


@lru_cache(maxsize=64)
def _nonzero_null(names, n, m, kind, floor, n_draws, seed):
    # white channels with m (non-demeaned) samples: exactly m non-zero eigenvalues, the
    # same law as the non-zero part of m + 1 demeaned samples (see the module docstring)
    lam = nonzero_spectrum(_white_null(n, m, kind, n_draws, seed), m)
    values = evaluate_test_functions(lam, names, m / n, floor=floor)
    return values.mean(axis=0), values.std(axis=0, ddof=1)


def nonzero_null_moments(names, n: int, m: int, *, kind: str = "correlation",
                         floor: float = DEFAULT_FLOOR, n_draws: int = 200, seed: int = 0
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SD of test functions of the non-zero part under the white-noise null.

    Monte Carlo at the exact size (``N`` independent Gaussian channels, ``m`` samples),
    cached per arguments, through :func:`nonzero_spectrum` at ratio ``m / N``.

    Returns
    -------
    mean, sd : ndarray, shape (len(names),)
    """
    mean, sd = _nonzero_null(tuple(names), int(n), int(m), kind, float(floor),
                             int(n_draws), int(seed))
    return mean.copy(), sd.copy()


class NonZeroSpectrumLES(TransformerMixin, BaseEstimator):
    """Standardised LES of the non-zero part of every window spectrum, per band.

    Parameters
    ----------
    test_functions : sequence of str, optional
        Names from the bank (default :data:`NONZERO_TEST_FUNCTIONS`; ring-law entries
        are refused).
    floor : float
        Floor on normalised eigenvalues for logarithms and inverses.
    n_draws : int
        Monte-Carlo draws of the null.
    random_state : int
        Seed of the null.

    Attributes
    ----------
    bands_ : tuple of str
    n_channels_ : int
    n_eff_ : ndarray, shape (n_bands,)
        Reference ``T_eff`` per band: the median over the training subjects.
    n_nonzero_ : ndarray of int, shape (n_bands,)
        Eigenvalues kept per window (:func:`nonzero_count` at ``n_eff_``); ``N`` where
        ``c <= 1``.
    ratio_ : ndarray, shape (n_bands,)
        MP ratio the statistics are compared with: ``m / N`` where ``c > 1`` (the dual),
        else ``N / T_eff``.
    point_mass_ : ndarray, shape (n_bands,)
        ``1 - 1/c`` where ``c > 1``, else 0: the share of each spectrum left out.
    null_mean_, null_sd_ : ndarray, shape (n_bands, n_functions)
    summary_ : list of str
        One sentence per band saying what was measured (for reports and logs).

    Notes
    -----
    ``X`` is a list of :class:`~neurodx.rmt.WindowSpectra` (from
    :class:`~neurodx.rmt.EigenSpectra`); ``transform`` returns a list of arrays
    ``(n_windows, n_bands * n_functions)`` for :class:`~neurodx.rmt.SubjectAggregator`.
    The reference ``T_eff`` (hence ``m``) is learnt from the training subjects and applied
    unchanged to the test subjects.
    """

    def __init__(self, test_functions=None, floor=DEFAULT_FLOOR, n_draws=200, random_state=0):
        self.test_functions = test_functions
        self.floor = floor
        self.n_draws = n_draws
        self.random_state = random_state

    def _names(self):
        names = NONZERO_TEST_FUNCTIONS if self.test_functions is None else self.test_functions
        if isinstance(names, str) or not hasattr(names, "__iter__") or not tuple(names):
            raise ConfigError(f"test_functions must be a non-empty sequence of names, got "
                              f"{names!r}")
        names = tuple(names)
        for n in names:
            if n.startswith("msr_"):
                raise ConfigError(f"test function {n!r} (ring law) needs whole window "
                                  "matrices; the non-zero-part statistics cannot use it")
            get_test_function(n)
        if not (isinstance(self.n_draws, Integral) and self.n_draws >= 10):
            raise ConfigError(f"n_draws must be an integer >= 10, got {self.n_draws!r}")
        return names

    def fit(self, X, y=None):
        """Learn, per band, the reference ``T_eff``, the kept count and the null.

        Returns
        -------
        self
        """
        names = self._names()
        spectra = check_spectra(X)
        s0 = spectra[0]
        self.test_functions_ = names
        self.bands_, self.n_channels_, self.kind_ = s0.bands, s0.n_channels, s0.kind
        n = self.n_channels_
        self.n_eff_ = np.median(np.stack([s.n_eff for s in spectra]), axis=0)
        self.n_nonzero_ = np.array([nonzero_count(n, s0.n_samples, t) for t in self.n_eff_])
        dual = self.n_nonzero_ < n
        self.ratio_ = np.where(dual, self.n_nonzero_ / n, n / self.n_eff_)
        self.point_mass_ = np.where(dual, 1.0 - self.n_nonzero_ / n, 0.0)
        moments = [nonzero_null_moments(names, n, m, kind=self.kind_, floor=self.floor,
                                        n_draws=self.n_draws, seed=self.random_state)
                   if d else self._plain_null(t)
                   for m, d, t in zip(self.n_nonzero_, dual, self.n_eff_)]
        self.null_mean_ = np.stack([m[0] for m in moments])
        sd = np.stack([m[1] for m in moments])
        # a statistic that cannot vary under the null is only centred
        self.null_sd_ = np.where(sd > 1e-12 * np.maximum(1.0, np.abs(self.null_mean_)), sd, 1.0)
        self.summary_ = [
            (f"{b}: c = {n / t:.2f} > 1: point mass {p:.2f} = 1 - 1/c at zero, statistics on "
             f"the non-zero part ({m} of {n} eigenvalues per window, x {m}/{n}) against "
             f"MP({r:.2f})") if d else
            (f"{b}: c = {n / t:.2f} <= 1: no point mass, statistics on all {n} eigenvalues "
             f"against MP({r:.2f})")
            for b, t, m, d, r, p in zip(self.bands_, self.n_eff_, self.n_nonzero_, dual,
                                        self.ratio_, self.point_mass_)]
        self.feature_names_out_ = np.array([f"{b}_nz_{f}" for b in self.bands_ for f in names],
                                           dtype=object)
        return self

    def _plain_null(self, t_eff):
        return null_moments(self.test_functions_, self.n_channels_, t_eff, kind=self.kind_,
                            floor=self.floor, n_draws=self.n_draws, seed=self.random_state)

    def transform(self, X):
        """Standardised statistics of each window.

        Returns
        -------
        features : list of ndarray, each (n_windows, n_bands * n_functions)
        """
        check_is_fitted(self, "null_mean_")
        spectra = check_spectra(X)
        check_fitted_layout(spectra, self.bands_, self.n_channels_, self.kind_)
        out = []
        for s in spectra:
            lam = s.normalized()
            cols = [(evaluate_test_functions(nonzero_spectrum(lam[b], int(m)),
                                             self.test_functions_, float(r), floor=self.floor)
                     - self.null_mean_[b]) / self.null_sd_[b]
                    for b, (m, r) in enumerate(zip(self.n_nonzero_, self.ratio_))]
            out.append(np.concatenate(cols, axis=1))
        return out

    def get_feature_names_out(self, input_features=None):
        """Names ``"<band>_nz_<function>"``, in column order."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags


def make_les_nonzero_pipeline(*, bands=None, sfreq=None, window=2.0, overlap=0.5,
                              kind="correlation", n_eff="spectral", test_functions=None,
                              stats=("mean", "sd", "median", "iqr"), classifier="logreg",
                              random_state=0, n_jobs=1) -> Pipeline:
    """``rmt_les_nonzero`` route: ``EigenSpectra -> NonZeroSpectrumLES -> SubjectAggregator
    -> StandardScaler -> classifier`` (one stateless step).

    The LES route for windows with fewer time points than channels or regions (``c > 1``):
    statistics on the non-zero part of each spectrum against the dual MP law of ratio
    ``1 / c`` (see the module docstring); where ``c <= 1`` it is the plain LES.
    """
    return Pipeline([
        ("spectra", EigenSpectra(bands=bands, sfreq=sfreq, window=window, overlap=overlap,
                                 kind=kind, n_eff=n_eff, n_jobs=n_jobs)),
        ("les", NonZeroSpectrumLES(test_functions=test_functions,
                                   random_state=random_state)),
        ("aggregate", SubjectAggregator(stats=stats)),
        ("scale", StandardScaler()),
        ("clf", make_classifier(classifier, random_state)),
    ])
