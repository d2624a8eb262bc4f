"""Pooled windows that respect an MP ratio bound, and learned test functions.

Two pieces for the LES route on short, narrow-band windows:

* :func:`pooled_window_count` / :func:`pool_window_scatter` -- consecutive blocks
  (or trials) of a band signal are pooled into one matrix until the MP ratio
  ``c = N / T_eff`` is at most ``c_max``; with 2-s windows cut into a 5-Hz band,
  ``T_eff`` is about 20 and a 64-channel spectrum is a point mass at zero plus a
  few outliers, so the LES measures the window length rather than the brain.
* :class:`SpectralDensity` -- a *learned* linear eigenvalue statistic: the
  subject's pooled spectral density expanded in a fixed basis (histogram bins or
  Chebyshev polynomials of ``log lambda``); a linear classifier on these features
  is a test function ``g = sum_k w_k phi_k`` whose coefficients ``w`` are learnt
  (cf. Mathematics 2023, 11(23), 4776, linear classifiers on binned spectral
  densities).
"""
from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..errors import ConfigError
from .les import check_fitted_layout, check_spectra
from .marchenko_pastur import marchenko_pastur_edges

__all__ = ["pooled_window_count", "pool_window_scatter", "SpectralDensity"]

_BASES = ("histogram", "chebyshev")


def pooled_window_count(n_channels: int, bandwidth_hz: float, block_s: float, *,
                        c_max: float = 0.5) -> int:
    """Blocks to pool so that ``N / T_eff <= c_max`` for an ideal band.

    A block of ``block_s`` seconds of a band ``bandwidth_hz`` wide carries
    ``T_eff ~ 2 * bandwidth * block_s`` independent samples (Slepian; see
    :func:`neurodx.rmt.effective_sample_size`), and ``k`` pooled blocks ``k`` times
    that; the count depends on the band and the channel count only, never on a
    subject, so every subject's spectra share one MP ratio.

    Returns
    -------
    k : int
        At least 1.
    """
    if not (isinstance(c_max, Real) and c_max > 0):
        raise ConfigError(f"c_max must be a positive number, got {c_max!r}")
    if not (bandwidth_hz > 0 and block_s > 0 and n_channels >= 2):
        raise ConfigError(f"need a positive band width and block length and >= 2 channels, "
                          f"got {bandwidth_hz} Hz, {block_s} s, {n_channels} channels")
    return max(1, math.ceil(n_channels / (c_max * 2.0 * bandwidth_hz * block_s)))


def pool_window_scatter(blocks, k: int, kind: str = "correlation"):
    """Pool ``k`` consecutive blocks (each demeaned) into one matrix.

    Parameters
    ----------
    blocks : ndarray, shape (n_blocks, n_channels, n_samples)
        Non-overlapping blocks or trials of one band signal.
    k : int
        Blocks per pooled window; groups are disjoint, a remainder is dropped. When
        there are fewer than ``k`` blocks, all of them form one window (the ratio bound
        is then not reached: check ``n_blocks >= k`` to report it).
    kind : {"correlation", "covariance"}

    Returns
    -------
    matrices : ndarray, shape (n_windows, n_channels, n_channels)
    sigma2 : ndarray, shape (n_windows,)
        MP scale: 1 for correlations, ``tr(S) / N`` for covariances.
    """
    blocks = np.asarray(blocks, dtype=np.float64)
    if blocks.ndim != 3 or blocks.shape[0] < 1:
        raise ConfigError(f"blocks must be (n_blocks, n_channels, n_samples), got {blocks.shape}")
    if not (isinstance(k, Integral) and k >= 1):
        raise ConfigError(f"k must be a positive integer, got {k!r}")
    if kind not in ("correlation", "covariance"):
        raise ConfigError(f"kind must be 'correlation' or 'covariance', got {kind!r}")
    n_b, n_ch, n_s = blocks.shape
    k = min(k, n_b)
    n_w = n_b // k
    x = blocks[: n_w * k] - blocks[: n_w * k].mean(axis=-1, keepdims=True)
    scatter = np.einsum("bct,bdt->bcd", x, x).reshape(n_w, k, n_ch, n_ch).sum(axis=1)
    if kind == "covariance":
        mats = scatter / (k * (n_s - 1))
        return mats, np.einsum("kii->k", mats) / n_ch
    d = np.sqrt(np.einsum("kii->ki", scatter))
    inv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0)
    mats = scatter * inv[:, :, None] * inv[:, None, :]
    return mats, np.ones(n_w)


class SpectralDensity(TransformerMixin, BaseEstimator):
    """Learned test functions: each subject's pooled spectral density in a fixed basis.

    For each band, the normalised eigenvalues (``lambda / sigma2``, mean 1) of all a
    subject's windows are pooled, and their empirical distribution is expanded on
    ``log lambda`` between ``lo = max(floor, lambda_- / 10)`` (``lambda_-``: the MP lower
    edge at the training subjects' median ratio) and ``N`` (the largest value a
    normalised eigenvalue can take):

    * ``basis="histogram"``: fraction of eigenvalues in each of ``n_bins`` log-spaced
      bins, the first bin also taking everything below ``lo`` (sums to 1 per band);
    * ``basis="chebyshev"``: mean of the Chebyshev polynomials ``T_1 .. T_degree`` of
      ``log lambda`` mapped to ``[-1, 1]``.

    A linear classifier on these features learns the test function's coefficients.

    Parameters
    ----------
    basis : {"histogram", "chebyshev"}
    n_bins : int
        Histogram bins per band.
    degree : int
        Highest Chebyshev degree.
    floor : float
        Smallest normalised eigenvalue resolved.

    Attributes
    ----------
    bands_ : tuple of str
    n_channels_ : int
    ratio_ : ndarray, shape (n_bands,)
        Median MP ratio ``N / T_eff`` of the training subjects, per band.
    edges_ : ndarray, shape (n_bands, 2)
        ``(lo, N)`` per band, on the normalised eigenvalue scale.

    Notes
    -----
    Measured (``validation/research/README.md``, ADHD vs control, 120 subjects, 19
    channels): no gain over the fixed LES bank -- 0.632 (histogram) and 0.622
    (Chebyshev) balanced accuracy vs 0.652 for the shipped ``rmt_les`` and 0.797 for
    the tangent-space baseline; kept as a research tool, not as a route kind.
    Eigenvalues are invariant to channel order, and so are the features.
    """

    def __init__(self, basis="histogram", n_bins=16, degree=8, floor=1e-3):
        self.basis = basis
        self.n_bins = n_bins
        self.degree = degree
        self.floor = floor

    def fit(self, X, y=None):
        """Learn the band layout and the reference ratio (training subjects only).

        Parameters
        ----------
        X : list of WindowSpectra
        y : ignored

        Returns
        -------
        self
        """
        if self.basis not in _BASES:
            raise ConfigError(f"basis must be one of {_BASES}, got {self.basis!r}")
        for name in ("n_bins", "degree"):
            v = getattr(self, name)
            if not (isinstance(v, Integral) and v >= 2):
                raise ConfigError(f"{name} must be an integer >= 2, got {v!r}")
        if not (isinstance(self.floor, Real) and 0 < self.floor < 1):
            raise ConfigError(f"floor must be in (0, 1), got {self.floor!r}")
        spectra = check_spectra(X)
        self.bands_ = spectra[0].bands
        self.n_channels_ = spectra[0].n_channels
        self.ratio_ = np.median(np.stack([s.ratio for s in spectra]), axis=0)
        lower = np.array([marchenko_pastur_edges(c)[0] for c in self.ratio_])
        self.edges_ = np.stack([np.maximum(self.floor, lower / 10),
                                np.full(len(lower), float(self.n_channels_))], axis=1)
        n_f = self.n_bins if self.basis == "histogram" else self.degree
        self.feature_names_out_ = np.array(
            [f"{b}_{self.basis}{k}" for b in self.bands_ for k in range(n_f)], dtype=object)
        return self

    def _unit(self, lam, band):
        lo, hi = np.log(self.edges_[band])
        u = (np.log(np.maximum(lam, self.edges_[band, 0])) - lo) / (hi - lo)
        return np.clip(u, 0.0, 1.0)

    def transform(self, X):
        """Basis coefficients of each subject's pooled density.

        Returns
        -------
        features : ndarray, shape (n_subjects, n_bands * n_features_per_band)
        """
        check_is_fitted(self, "ratio_")
        spectra = check_spectra(X)
        check_fitted_layout(spectra, self.bands_, self.n_channels_)
        out = np.empty((len(spectra), len(self.feature_names_out_)))
        for i, spec in enumerate(spectra):
            lam = spec.normalized()
            out[i] = np.concatenate([self._band_features(lam[b].ravel(), b)
                                     for b in range(spec.n_bands)])
        return out

    def _band_features(self, lam, band):
        u = self._unit(lam, band)
        if self.basis == "histogram":
            idx = np.minimum((u * self.n_bins).astype(int), self.n_bins - 1)
            return np.bincount(idx, minlength=self.n_bins) / u.size
        t = np.polynomial.chebyshev.chebvander(2 * u - 1, self.degree)[:, 1:]
        return t.mean(axis=0)

    def get_feature_names_out(self, input_features=None):
        """Names ``"<band>_<basis><k>"``, in column order."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
