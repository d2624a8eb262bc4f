"""One SPD matrix per subject and band, and its tangent-space features.

Two covariance routes over the same input ``X`` (a list of recordings):

* :class:`RMTCovariances` -- RMT-cleaned covariances (MP clipping or Ledoit-Wolf 2020
  nonlinear shrinkage) of each band signal;
* :class:`BandCovariances` -- the plain pyRiemann peer: pyRiemann's ``Covariances``
  (``"scm"``, ``"oas"``, ``"lwf"``, ...) of each band signal;

both followed by :class:`BandTangentSpace` (pyRiemann's ``TangentSpace`` per band,
reference mean learnt on the training subjects only).

Why one pooled matrix per band and not the mean of cleaned window matrices
--------------------------------------------------------------------------
A subject's band covariance is best estimated from all its samples at once: the
average of the windows' sample covariances *is* that pooled estimate (with
``n_windows`` times more degrees of freedom than one window), whereas cleaning
each window separately and averaging carries the per-window cleaning bias (which
is large when a window has fewer effective samples than channels, as in narrow
bands) into the average without reducing it. So :class:`RMTCovariances` pools the
windows' scatter matrices, then cleans that single matrix with the MP ratio
``N / T_eff`` of the whole band signal.
"""
from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..errors import ConfigError
from ._inputs import (check_dtype, check_params_common, check_subjects, subject_band_scatter,
                      subject_band_windows)
from ._reference_memo import REFERENCES, TANGENT_VECTORS, derived_key, matrices_key
from .cleaning import clip_spectrum, shrink_spectrum
from .inverse_shrinkage import INVERSE_SHRINKAGE_METHODS, shrink_spectrum_inverse
from .riemann_mean import riemann_mean, riemann_mean_and_vectors, tangent_vectors

__all__ = ["RMTCovariances", "BandCovariances", "BandTangentSpace", "clean_correlation"]

_METHODS = ("clip", "nonlinear", *INVERSE_SHRINKAGE_METHODS, "none")
# Eigenvalues of a correlation matrix below this are structural zeros (average
# reference, linearly dependent channels), not noise: float32 data leave them ~1e-7.
_NULL_TOL = 1e-5


def clean_correlation(R, n_samples: float, method: str = "clip") -> np.ndarray:
    """Clean a correlation matrix, leaving structural null directions at 1.

    Directions with eigenvalue ``< 1e-5`` (e.g. the common-average direction of
    average-referenced EEG) carry no data; the cleaning runs on the remaining
    ``rank`` dimensions (``c = rank / n_samples``) and the null directions receive
    eigenvalue 1, the noise level of a correlation matrix, so that the result is
    positive definite.

    Parameters
    ----------
    R : array_like, shape (p, p)
        Sample correlation matrix.
    n_samples : float
        Effective number of independent samples behind ``R``.
    method : {"clip", "nonlinear", "lis", "qis", "gis", "none"}
        :func:`~neurodx.rmt.clip_spectrum` at the MP edge,
        :func:`~neurodx.rmt.shrink_spectrum` (Ledoit-Wolf 2020, Frobenius loss),
        :func:`~neurodx.rmt.shrink_spectrum_inverse` (Ledoit-Wolf 2022 linear-,
        quadratic- or geometric-inverse shrinkage: Stein, inverse-Stein and
        symmetrised Kullback-Leibler losses), or no change.

    Returns
    -------
    cleaned : ndarray, shape (p, p)
        A positive definite correlation matrix (unit diagonal).
    """
    if method not in _METHODS:
        raise ConfigError(f"method must be one of {_METHODS}, got {method!r}")
    R = np.asarray(R, dtype=np.float64)
    if method == "none":
        return R.copy()
    lam, vecs = np.linalg.eigh(R)
    null = lam < _NULL_TOL
    rank = int(np.count_nonzero(~null))
    out = np.ones_like(lam)
    if method == "clip":
        out[~null] = clip_spectrum(lam[~null], rank / n_samples, 1.0)
    elif method == "nonlinear":
        out[~null] = shrink_spectrum(lam[~null], n_samples)
    else:
        out[~null] = shrink_spectrum_inverse(lam[~null], n_samples, method)
    cleaned = (vecs * out) @ vecs.T
    # cleaning moves the diagonal away from 1; rescaling back to a correlation matrix
    # keeps it positive definite and lets the caller restore the sample variances
    inv_sd = 1.0 / np.sqrt(np.diag(cleaned))
    cleaned = cleaned * np.outer(inv_sd, inv_sd)
    cleaned = (cleaned + cleaned.T) / 2
    np.fill_diagonal(cleaned, 1.0)
    return cleaned


def _clean_band_correlation(cov, n_samples, method, where):
    """Cleaned correlation of a band covariance, and the channels' standard deviations.

    The variances are kept as measured (they are estimated well channel by channel);
    only the correlation structure is cleaned. ``cleaned * np.outer(sd, sd)`` is the
    cleaned covariance. ``where`` names the subject and band in the flat-channel error.
    """
    var = np.diag(cov).copy()
    if np.any(var <= 0):
        raise ConfigError(f"{where}: channel(s) {np.flatnonzero(var <= 0).tolist()} are flat; "
                          "a correlation (and a positive definite covariance) needs every "
                          "channel to vary")
    sd = np.sqrt(var)
    corr = cov / np.outer(sd, sd)
    np.fill_diagonal(corr, 1.0)
    return clean_correlation(corr, n_samples, method), sd


def _subject_rmt_covs(subject, index, *, bands, sfreq, window, overlap, method, kind, n_eff,
                      dtype):
    bs = subject_band_scatter(subject, index, bands=bands, sfreq=sfreq, window=window,
                              overlap=overlap, dtype=dtype)
    mats = []
    for b, band in enumerate(bs.bands):
        # pooled sample covariance (per-window demeaning), accumulated in float64
        cov = bs.pooled_covariance(b)
        # windows cover n_s + (n_w - 1) * step distinct samples; pre-windowed input is
        # taken as non-overlapping
        t_total = bs.n_eff(n_eff, b) * bs.coverage()
        cleaned, sd = _clean_band_correlation(cov, t_total, method,
                                              f"subject {index}, band {band}")
        mats.append(cleaned * np.outer(sd, sd) if kind == "covariance" else cleaned)
    return np.stack(mats)


class RMTCovariances(TransformerMixin, BaseEstimator):
    """RMT-cleaned covariance (or correlation) matrix per subject and band.

    For each band, the windows' scatter matrices are pooled into one sample
    covariance, turned into a correlation matrix, cleaned with the MP ratio
    ``c = N / T_eff`` of the whole band signal, and (``kind="covariance"``) rescaled
    by the sample standard deviations: variances are estimated well channel by
    channel; it is the correlation structure that suffers from ``N`` being
    comparable to ``T_eff`` (Bun, Bouchaud & Potters 2017). Stateless: ``fit``
    only validates.

    Parameters
    ----------
    method : {"clip", "nonlinear", "none"}
        MP eigenvalue clipping, Ledoit-Wolf (2020) analytical nonlinear shrinkage, or
        no cleaning (pooled sample covariance, possibly singular).
    kind : {"covariance", "correlation"}
        Output matrix.
    bands, sfreq, window, overlap, dtype, n_jobs
        As in :class:`~neurodx.rmt.EigenSpectra`; ``window=None`` uses the whole
        recording as one window. Default: 2-s windows without overlap.
    n_eff : "spectral" | "nominal" | float | mapping
        Effective samples *per window* (see :class:`~neurodx.rmt.EigenSpectra`); the
        band signal's total is that times the number of window lengths covered.

    Notes
    -----
    ``transform`` returns an array ``(n_subjects, n_bands, N, N)`` of symmetric
    positive definite float64 matrices (for ``method`` other than ``"none"``).
    Structural null directions (average reference) are set to the noise level, see
    :func:`clean_correlation`.
    """

    #: Takes a :class:`~neurodx.rmt.band_fft.BandScatter` computed once per
    #: recording in place of the recording (see ``shared_band_scatter``).
    _consumes_band_scatter = True

    def __init__(self, method="clip", kind="covariance", bands=None, sfreq=None, window=2.0,
                 overlap=0.0, n_eff="spectral", dtype="float32", n_jobs=1):
        self.method = method
        self.kind = kind
        self.bands = bands
        self.sfreq = sfreq
        self.window = window
        self.overlap = overlap
        self.n_eff = n_eff
        self.dtype = dtype
        self.n_jobs = n_jobs

    def fit(self, X, y=None):
        """Validate parameters and input; nothing is learnt.

        Returns
        -------
        self
        """
        self.bands_ = check_params_common(self)
        if self.method not in _METHODS:
            raise ConfigError(f"method must be one of {_METHODS}, got {self.method!r}")
        if self.kind not in ("covariance", "correlation"):
            raise ConfigError(f"kind must be 'covariance' or 'correlation', got {self.kind!r}")
        check_dtype(self.dtype)
        check_subjects(X)
        return self

    def transform(self, X):
        """Cleaned matrices.

        Returns
        -------
        covs : ndarray, shape (n_subjects, n_bands, N, N)
        """
        check_is_fitted(self, "bands_")
        subjects = check_subjects(X)
        dtype = check_dtype(self.dtype)
        jobs = (delayed(_subject_rmt_covs)(sub, i, bands=self.bands_, sfreq=self.sfreq,
                                           window=self.window, overlap=self.overlap,
                                           method=self.method, kind=self.kind,
                                           n_eff=self.n_eff, dtype=dtype)
                for i, sub in enumerate(subjects))
        return _stack_subjects(Parallel(n_jobs=self.n_jobs)(jobs))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags


def _stack_subjects(mats):
    shapes = {m.shape for m in mats}
    if len(shapes) != 1:
        raise ConfigError(f"subjects give matrices of different shapes {sorted(shapes)}: "
                          f"every subject needs the same channels")
    return np.stack(mats)


def _oas_covariances(windows: np.ndarray) -> np.ndarray:
    """pyRiemann's ``"oas"`` covariance of every window, without a precision matrix.

    pyRiemann's ``"oas"`` is scikit-learn's ``oas`` per window, whose ``OAS.fit`` also
    inverts every estimate (``pinvh``, stored as ``precision_`` and never used here):
    70 % of the time of featurising the region baseline (measured: 28 of 40 s of CPU for
    448 subjects x 200 regions). Same formula (Chen et al. 2010 as scikit-learn writes
    it: each channel centred over the window, biased empirical covariance, shrinkage
    ``min((a + mu^2) / ((T + 1) (a - mu^2 / N)), 1)`` towards ``mu I``), all windows at
    once; equal to pyRiemann's within rounding (tested).

    Parameters
    ----------
    windows : ndarray, shape (n_windows, n_channels, n_times)

    Returns
    -------
    covs : ndarray, shape (n_windows, n_channels, n_channels)
    """
    X = np.asarray(windows, dtype=np.float64)
    n_ch, n_t = X.shape[-2:]
    X = X - X.mean(axis=-1, keepdims=True)
    emp = X @ np.swapaxes(X, -1, -2) / n_t
    alpha = np.mean(emp ** 2, axis=(-2, -1))
    mu = np.trace(emp, axis1=-2, axis2=-1) / n_ch
    num = alpha + mu ** 2
    den = (n_t + 1) * (alpha - mu ** 2 / n_ch)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrinkage = np.where(den == 0, 1.0, np.minimum(num / den, 1.0))
    covs = (1.0 - shrinkage)[:, None, None] * emp
    covs[:, np.arange(n_ch), np.arange(n_ch)] += (shrinkage * mu)[:, None]
    return covs


def _subject_pyriemann_covs(subject, index, *, bands, sfreq, window, overlap, estimator):
    mats = []
    for _, windows in subject_band_windows(subject, index, bands=bands, sfreq=sfreq,
                                           window=window, overlap=overlap, dtype=np.float64):
        windows = np.ascontiguousarray(windows)
        if estimator == "oas":
            covs = _oas_covariances(windows)
        else:
            from pyriemann.estimation import Covariances

            covs = Covariances(estimator=estimator).transform(windows)
        mats.append(covs.mean(axis=0))
    return np.stack(mats)


class BandCovariances(TransformerMixin, BaseEstimator):
    """pyRiemann covariance per subject and band: the peer of :class:`RMTCovariances`.

    Each band signal (one window spanning the recording by default) goes through
    ``pyriemann.estimation.Covariances(estimator=estimator)``; with shorter windows the
    window covariances are averaged. Stateless: ``fit`` only validates.

    Parameters
    ----------
    estimator : str
        Any pyRiemann covariance estimator (``"scm"``, ``"oas"``, ``"lwf"``, ...).
        ``"scm"`` is singular for average-referenced EEG; ``"oas"`` / ``"lwf"`` are not.
    bands, sfreq, window, overlap, n_jobs
        As in :class:`RMTCovariances` (``window=None``: whole recording).

    Notes
    -----
    ``transform`` returns ``(n_subjects, n_bands, N, N)`` float64.
    """

    def __init__(self, estimator="oas", bands=None, sfreq=None, window=None, overlap=0.0,
                 n_jobs=1):
        self.estimator = estimator
        self.bands = bands
        self.sfreq = sfreq
        self.window = window
        self.overlap = overlap
        self.n_jobs = n_jobs

    def fit(self, X, y=None):
        """Validate parameters and input; nothing is learnt.

        Returns
        -------
        self
        """
        self.bands_ = check_params_common(self)
        if not isinstance(self.estimator, str):
            raise ConfigError(f"estimator must be a pyRiemann estimator name such as 'scm' or "
                              f"'oas', got {self.estimator!r}")
        check_subjects(X)
        return self

    def transform(self, X):
        """Band covariances.

        Returns
        -------
        covs : ndarray, shape (n_subjects, n_bands, N, N)
        """
        check_is_fitted(self, "bands_")
        subjects = check_subjects(X)
        jobs = (delayed(_subject_pyriemann_covs)(sub, i, bands=self.bands_, sfreq=self.sfreq,
                                                 window=self.window, overlap=self.overlap,
                                                 estimator=self.estimator)
                for i, sub in enumerate(subjects))
        return _stack_subjects(Parallel(n_jobs=self.n_jobs)(jobs))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags


def _tangent_space(metric):
    # pyRiemann imported where it is used: it imports torch (and matplotlib), ~2 s of
    # every process start, also in workers and commands that never fit a tangent space
    from pyriemann.tangentspace import TangentSpace

    return TangentSpace(metric=metric)


def _check_band_matrices(X):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 3:
        X = X[:, None]
    if X.ndim != 4 or X.shape[-1] != X.shape[-2] or X.shape[0] < 1:
        raise ConfigError(f"expected SPD matrices (n_subjects, n_bands, N, N) or "
                          f"(n_subjects, N, N), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ConfigError("matrices contain NaN or infinity")
    # Each matrix symmetric to 1e-6 of its largest entry, a matrix at a time into one
    # cache-sized temporary: this check runs at every fit and transform of a tuned
    # route's inner folds, and on stacks of hundreds of 200 x 200 matrices a temporary
    # of the whole stack made it 8x slower (measured: 0.28 vs 0.034 s for 358)
    asym = np.empty(X.shape[-2:])
    for M in X.reshape(-1, *X.shape[-2:]):
        np.subtract(M, M.T, out=asym)
        np.abs(asym, out=asym)
        if asym.max() > 1e-6 * max(M.max(), -M.min()):
            raise ConfigError("matrices are not symmetric")
    return X


class BandTangentSpace(TransformerMixin, BaseEstimator):
    """pyRiemann tangent space per band, concatenated into one feature vector.

    ``fit`` learns, for each band, the mean of the training subjects' matrices
    (pyRiemann ``TangentSpace``, metric ``metric``) -- so test subjects never enter
    the reference point; ``transform`` maps each band's matrices to the tangent
    space at that mean (upper triangles, off-diagonals weighted by sqrt(2)) and
    concatenates the bands.

    Parameters
    ----------
    metric : str
        pyRiemann metric of the reference mean and the log map.
    band_names : sequence of str, optional
        Used in :meth:`get_feature_names_out` (default ``band0, band1, ...``).

    Attributes
    ----------
    tangent_spaces_ : list of pyriemann.tangentspace.TangentSpace
        One fitted per band.
    n_bands_, n_channels_ : int
    """

    #: Fits and tangent vectors are reused in memory for the very same inputs (see
    #: ``_reference_memo``): a nested search needs no Pipeline cache on disk for them.
    _memoizes_fits = True

    def __init__(self, metric="riemann", band_names=None):
        self.metric = metric
        self.band_names = band_names

    def fit(self, X, y=None):
        """Fit one pyRiemann ``TangentSpace`` per band on training matrices.

        Parameters
        ----------
        X : ndarray, shape (n_subjects, n_bands, N, N) or (n_subjects, N, N)
        y : ignored

        Returns
        -------
        self
        """
        self._fit(_check_band_matrices(X))
        return self

    def fit_transform(self, X, y=None):
        """``fit(X).transform(X)``, bit for bit; for ``"riemann"``, the training
        subjects' tangent vectors come from the mean's last iteration (no second
        eigen-decomposition of every matrix).

        Returns
        -------
        features : ndarray, shape (n_subjects, n_bands * N (N + 1) / 2)
        """
        X = _check_band_matrices(X)
        data = matrices_key(X)          # the matrices hashed once for both memo keys
        features = self._fit(X, with_features=self.metric == "riemann", data=data)
        if features is None:
            return self._transform(X, data)
        TANGENT_VECTORS.put(self._vectors_key(data), features)
        return features

    def _fit(self, X, with_features=False, data=None):
        """Fit on checked matrices; with ``with_features`` and no stored fit, also
        return the training tangent vectors of all bands (else None)."""
        if self.band_names is not None and len(self.band_names) != X.shape[1]:
            raise ConfigError(f"band_names has {len(self.band_names)} names for "
                              f"{X.shape[1]} bands (already windowed input is one band: "
                              f"pass bands={{'broadband': None}} to the pipeline factory)")
        self.n_bands_, self.n_channels_ = X.shape[1], X.shape[2]
        # The same training matrices give the same means: refits on them (the permutation
        # test's outer folds, grid points) take the stored fit (see _reference_memo).
        key = derived_key(matrices_key(X) if data is None else data, "BandTangentSpace",
                          self.metric)
        self.tangent_spaces_ = REFERENCES.get(key)
        if self.tangent_spaces_ is not None:
            return None
        features = None
        if with_features:
            fitted = [self._fit_band_with_features(X[:, b]) for b in range(self.n_bands_)]
            self.tangent_spaces_ = [ts for ts, _ in fitted]
            features = np.hstack([f for _, f in fitted])
        else:
            self.tangent_spaces_ = [self._fit_band(X[:, b]) for b in range(self.n_bands_)]
        REFERENCES.put(key, self.tangent_spaces_)
        return features

    def _fit_band(self, X):
        """pyRiemann's ``TangentSpace`` of one band; its ``reference_`` is the mean that
        ``fit`` would compute (for ``"riemann"``, by :func:`~neurodx.rmt.riemann_mean.
        riemann_mean`: the same mean, to its tolerance, in fewer iterations)."""
        ts = _tangent_space(self.metric)
        if self.metric != "riemann":
            return ts.fit(X)
        ts.reference_ = riemann_mean(X)      # all that TangentSpace.fit learns
        return ts

    def _fit_band_with_features(self, X):
        ts = _tangent_space(self.metric)
        ts.reference_, features = riemann_mean_and_vectors(X)
        return ts, features

    def _vectors_key(self, data: bytes) -> bytes:
        """Key of the tangent vectors of matrices with digest ``data`` at the fitted means."""
        references = np.stack([ts.reference_ for ts in self.tangent_spaces_])
        return derived_key(data, "BandTangentSpace.transform", self.metric,
                           matrices_key(references))

    def transform(self, X):
        """Tangent vectors of all bands, side by side.

        Returns
        -------
        features : ndarray, shape (n_subjects, n_bands * N (N + 1) / 2)
        """
        check_is_fitted(self, "tangent_spaces_")
        X = _check_band_matrices(X)
        if X.shape[1:3] != (self.n_bands_, self.n_channels_):
            raise ConfigError(f"expected {self.n_bands_} bands of {self.n_channels_} x "
                              f"{self.n_channels_} matrices, got shape {X.shape}")
        return self._transform(X, matrices_key(X))

    def _transform(self, X, data: bytes):
        # A grid search scores every grid point on the same validation subjects with the
        # same fitted steps: the vectors are computed once (see _reference_memo).
        key = self._vectors_key(data)
        features = TANGENT_VECTORS.get(key)
        if features is None:
            features = np.hstack([self._transform_band(X[:, b], ts)
                                  for b, ts in enumerate(self.tangent_spaces_)])
            TANGENT_VECTORS.put(key, features)
        return features

    def _transform_band(self, X, ts):
        if self.metric != "riemann":
            return ts.transform(X)
        # pyRiemann's log map to rounding, computed as the fit's last iteration does
        return tangent_vectors(X, ts.reference_)

    def get_feature_names_out(self, input_features=None):
        """Names ``"<band>_ts<k>"``, ``k`` indexing the upper triangle row by row."""
        check_is_fitted(self, "tangent_spaces_")
        names = self.band_names or [f"band{b}" for b in range(self.n_bands_)]
        n_ts = self.n_channels_ * (self.n_channels_ + 1) // 2
        return np.array([f"{b}_ts{k}" for b in names for k in range(n_ts)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
