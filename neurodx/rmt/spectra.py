"""Eigenvalue spectra of windowed correlation (or covariance) matrices.

Functions work on a stack of windows ``(n_windows, n_channels, n_samples)`` at once
(batched BLAS products and LAPACK eigen-solvers, a bounded chunk of windows at a
time); :class:`EigenSpectra` wraps them for lists of recordings, band by band.

Effective sample size
---------------------
The MP law assumes ``T`` independent samples per window. Band-passed signals are
strongly autocorrelated: a 2-s window of 1-4 Hz activity carries about
``2 * bandwidth * duration`` ~ 12-20 degrees of freedom (Slepian), not 2000, so
with 64 channels its correlation matrix is close to rank ~20 and comparing it with
``MP(c = 64 / 2000)`` would call every eigenvalue "signal". We therefore use an
*effective* number of samples: for a window whose channels share a temporal
correlation matrix ``A``, ``S = X A X^T / T`` has the first two spectral moments of
``MP(c = N / T_eff)`` with ``T_eff = (tr A)^2 / tr(A^2)``. With ``A`` approximately
circulant its eigenvalues are the power spectrum ``P_k``, hence the spectral
participation ratio ``T_eff = (sum_k P_k)^2 / sum_k P_k^2``
(:func:`effective_sample_size`). For white noise this gives ``T - 1`` (the demeaned
DC bin is empty); for an ideal band of ``K`` FFT bins it gives ``2K``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._logging import logger
from ..errors import ConfigError
from ._inputs import check_dtype, check_params_common, check_subjects, subject_band_scatter
from .sample_size import band_power_spectrum, check_windows as _check_windows, \
    effective_sample_size, participation_ratio
from .marchenko_pastur import marchenko_pastur_edges

__all__ = ["window_matrices", "window_eigenvalues", "band_power_spectrum",
           "participation_ratio", "effective_sample_size", "WindowSpectra", "EigenSpectra"]

_KINDS = ("correlation", "covariance")
# Windows are processed in chunks of about this many samples (x 4 bytes in float32),
# so demeaned copies of a 300-window band never exist all at once.
_CHUNK_ELEMENTS = 2 ** 23


def _chunks(n_windows, n_channels, n_samples, chunk_elements=_CHUNK_ELEMENTS):
    step = max(1, chunk_elements // max(1, n_channels * n_samples))
    for start in range(0, n_windows, step):
        yield slice(start, min(n_windows, start + step))


def _scatter_to_matrices(scatter, n_samples, kind):
    """Turn demeaned scatter matrices ``X X^T`` into correlation or covariance."""
    diag = np.einsum("kii->ki", scatter)
    n_flat = int(np.count_nonzero(diag <= 0))
    if kind == "covariance":
        mats = scatter / (n_samples - 1)
        sigma2 = np.einsum("kii->k", mats) / mats.shape[-1]
    else:
        # a flat channel has no correlation: its row and column are set to zero, which
        # shows up as a zero eigenvalue (handled by the floor of the LES bank)
        inv = np.where(diag > 0, 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 0.0)
        mats = scatter * inv[:, :, None] * inv[:, None, :]
        idx = np.arange(mats.shape[-1])
        mats[:, idx, idx] = np.where(diag > 0, 1.0, 0.0)   # exact ones despite rounding
        sigma2 = np.ones(mats.shape[0])
    return mats, sigma2, n_flat


def _demeaned_scatter(windows):
    x = np.asarray(windows)
    x = x - x.mean(axis=-1, keepdims=True)
    return x @ x.transpose(0, 2, 1)


def window_matrices(windows, kind: str = "correlation", *, dtype=np.float32) -> np.ndarray:
    """Sample correlation (or covariance) matrix of every window.

    Each channel is demeaned within its window; covariances are normalised by
    ``T - 1``; correlations have an exact unit diagonal (zero for flat channels).

    Parameters
    ----------
    windows : ndarray, shape (n_windows, n_channels, n_samples)
    kind : {"correlation", "covariance"}
    dtype : numpy dtype
        Working precision.

    Returns
    -------
    matrices : ndarray, shape (n_windows, n_channels, n_channels)
    """
    windows = _check_windows(windows)
    dtype = check_dtype(dtype)
    if kind not in _KINDS:
        raise ConfigError(f"kind must be one of {_KINDS}, got {kind!r}")
    n_w, n_ch, n_s = windows.shape
    out = np.empty((n_w, n_ch, n_ch), dtype=dtype)
    for sl in _chunks(n_w, n_ch, n_s):
        scatter = _demeaned_scatter(windows[sl].astype(dtype, copy=False))
        out[sl] = _scatter_to_matrices(scatter, n_s, kind)[0]
    return out


def window_eigenvalues(windows, kind: str = "correlation", *, dtype=np.float32,
                       return_info: bool = False):
    """Eigenvalues of every window's correlation (or covariance) matrix, batched.

    Parameters
    ----------
    windows : ndarray, shape (n_windows, n_channels, n_samples)
        May be a strided view (e.g. from :func:`neurodx.preprocessing.band_windows`).
    kind : {"correlation", "covariance"}
        ``"correlation"``: row-standardised matrices, compared with MP at
        ``sigma2 = 1``. ``"covariance"``: ``X X^T / (T - 1)``; its MP scale is
        estimated per window as ``sigma2 = tr(S) / N`` (the null's common variance).
    dtype : numpy dtype
        Working precision; float32 (default) gives eigenvalues to ~1e-6 of the
        largest, ample for spectra whose fluctuations are ~1/sqrt(T).
    return_info : bool
        Also return ``sigma2`` per window and the number of flat (zero-variance)
        channel-windows.

    Returns
    -------
    eigenvalues : ndarray, shape (n_windows, n_channels)
        Ascending in each row, in ``dtype``.
    sigma2 : ndarray, shape (n_windows,)
        Only with ``return_info``: 1 for correlations, ``tr(S) / N`` for covariances.
    n_flat : int
        Only with ``return_info``.
    """
    windows = _check_windows(windows)
    dtype = check_dtype(dtype)
    if kind not in _KINDS:
        raise ConfigError(f"kind must be one of {_KINDS}, got {kind!r}")
    n_w, n_ch, n_s = windows.shape
    eig = np.empty((n_w, n_ch), dtype=dtype)
    sigma2 = np.empty(n_w, dtype=np.float64)
    n_flat = 0
    for sl in _chunks(n_w, n_ch, n_s):
        scatter = _demeaned_scatter(windows[sl].astype(dtype, copy=False))
        mats, s2, nf = _scatter_to_matrices(scatter, n_s, kind)
        eig[sl] = np.linalg.eigvalsh(mats)
        sigma2[sl] = s2
        n_flat += nf
    if return_info:
        return eig, sigma2, n_flat
    return eig


@dataclass(frozen=True, eq=False)
class WindowSpectra:
    """Window eigenvalue spectra of one subject, all bands.

    Attributes
    ----------
    eigenvalues : ndarray, shape (n_bands, n_windows, n_channels)
        Ascending eigenvalues of each window's correlation (or covariance) matrix.
    sigma2 : ndarray, shape (n_bands, n_windows)
        MP scale of each window: 1 for correlations, ``tr(S) / N`` for covariances.
    bands : tuple of str
        Band names, in order.
    n_samples : int
        Samples per window ``T``.
    n_eff : ndarray, shape (n_bands,)
        Effective samples per window used for the MP ratio ``c = N / n_eff``
        (see :func:`effective_sample_size`).
    kind : {"correlation", "covariance"}
    """

    eigenvalues: np.ndarray
    sigma2: np.ndarray
    bands: tuple
    n_samples: int
    n_eff: np.ndarray
    kind: str = "correlation"

    @property
    def n_bands(self) -> int:
        return self.eigenvalues.shape[0]

    @property
    def n_windows(self) -> int:
        return self.eigenvalues.shape[1]

    @property
    def n_channels(self) -> int:
        return self.eigenvalues.shape[2]

    @property
    def ratio(self) -> np.ndarray:
        """MP ratio ``c = N / n_eff`` per band."""
        return self.n_channels / np.asarray(self.n_eff, dtype=np.float64)

    @property
    def mp_upper_edge(self) -> np.ndarray:
        """MP upper edge ``(1 + sqrt(c))^2`` per band, on the normalised scale."""
        return np.array([marchenko_pastur_edges(c)[1] for c in self.ratio])

    def normalized(self) -> np.ndarray:
        """Eigenvalues divided by ``sigma2`` (float64), mean 1 per window."""
        return self.eigenvalues.astype(np.float64) / self.sigma2[..., None]

    def n_above_edge(self) -> np.ndarray:
        """Number of eigenvalues above the MP upper edge, shape (n_bands, n_windows)."""
        return np.sum(self.normalized() > self.mp_upper_edge[:, None, None], axis=-1)


def _subject_spectra(subject, index, *, bands, sfreq, window, overlap, kind, n_eff, dtype):
    bs = subject_band_scatter(subject, index, bands=bands, sfreq=sfreq, window=window,
                              overlap=overlap, dtype=dtype)
    eigs, sig, neff = [], [], []
    for b, band in enumerate(bs.bands):
        mats, s2, n_flat = _scatter_to_matrices(bs.scatter[b], int(bs.band_samples[b]), kind)
        if n_flat:
            logger.warning("subject %d, band %s: %d channel-window(s) are flat; they "
                           "give zero eigenvalues", index, band, n_flat)
        eigs.append(np.linalg.eigvalsh(mats))
        sig.append(s2)
        neff.append(bs.n_eff(n_eff, b))
    return WindowSpectra(eigenvalues=np.stack(eigs), sigma2=np.stack(sig), bands=bs.bands,
                         n_samples=bs.n_samples, n_eff=np.asarray(neff), kind=kind)


class EigenSpectra(TransformerMixin, BaseEstimator):
    """Window eigenvalue spectra per subject and band (stateless transformer).

    For each subject, one band pass of the recording
    (:func:`~neurodx.rmt.recording_band_scatter`: one FFT, MNE's FIR response per
    band, a band-fitted rate) gives every window's band scatter matrix, and every
    window's correlation (or covariance) matrix is eigen-decomposed in one batched
    call. A subject may also be a :class:`~neurodx.rmt.BandScatter` computed once and
    shared with other steps (:func:`~neurodx.rmt.shared_band_scatter`).

    Parameters
    ----------
    bands : mapping, optional
        ``{name: (low_hz, high_hz) or None}``; default
        :data:`neurodx.preprocessing.DEFAULT_BANDS`. Ignored for already windowed input.
    sfreq : float, optional
        Sampling rate for array recordings ``(n_channels, n_times)``.
    window : float
        Window length in seconds.
    overlap : float
        Fraction of overlap of consecutive windows, in ``[0, 1)``.
    kind : {"correlation", "covariance"}
        Matrix whose spectrum is taken (see :func:`window_eigenvalues`).
    n_eff : "spectral" | "nominal" | float | mapping
        Effective samples per window for the MP ratio: estimated from the band's
        spectrum (default, see :func:`effective_sample_size`), ``T - 1``, a fixed
        number, or ``{band: rule}``.
    dtype : {"float32", "float64"}
        Working precision.
    n_jobs : int
        Subjects processed in parallel with joblib (``1``: sequential).

    Notes
    -----
    ``X`` is a sequence of subjects, each an ``mne.io.BaseRaw`` (all its channels are
    used), an array ``(n_channels, n_times)`` (``sfreq`` required) or an already
    windowed array ``(n_windows, n_channels, n_samples)``, which is used unfiltered as
    one band called ``"broadband"``. ``transform`` returns a list of
    :class:`WindowSpectra`, one per subject. ``fit`` only validates the parameters:
    nothing is learnt from the data, so spectra may be computed once for a whole
    cohort outside cross-validation without leakage.
    """

    #: Takes a :class:`~neurodx.rmt.band_fft.BandScatter` computed once per
    #: recording in place of the recording (see ``shared_band_scatter``).
    _consumes_band_scatter = True

    def __init__(self, bands=None, sfreq=None, window=2.0, overlap=0.5, kind="correlation",
                 n_eff="spectral", dtype="float32", n_jobs=1):
        self.bands = bands
        self.sfreq = sfreq
        self.window = window
        self.overlap = overlap
        self.kind = kind
        self.n_eff = n_eff
        self.dtype = dtype
        self.n_jobs = n_jobs

    def _validate_params(self):
        bands = check_params_common(self)
        if self.window is None:
            raise ConfigError("window must be a duration in seconds, got None")
        if self.kind not in _KINDS:
            raise ConfigError(f"kind must be one of {_KINDS}, got {self.kind!r}")
        check_dtype(self.dtype)
        return bands

    def fit(self, X, y=None):
        """Validate parameters and input; nothing is learnt.

        Parameters
        ----------
        X : sequence of subjects
            See the class notes.
        y : ignored

        Returns
        -------
        self
        """
        self.bands_ = self._validate_params()
        check_subjects(X)
        return self

    def transform(self, X):
        """Compute the window spectra of every subject.

        Returns
        -------
        spectra : list of WindowSpectra
            One per subject, in order.
        """
        check_is_fitted(self, "bands_")
        subjects = check_subjects(X)
        dtype = check_dtype(self.dtype)
        jobs = (delayed(_subject_spectra)(sub, i, bands=self.bands_, sfreq=self.sfreq,
                                          window=self.window, overlap=self.overlap,
                                          kind=self.kind, n_eff=self.n_eff, dtype=dtype)
                for i, sub in enumerate(subjects))
        return list(Parallel(n_jobs=self.n_jobs)(jobs))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags
