"""Linear eigenvalue statistics (LES) of window spectra, as a transformer."""
from __future__ import annotations

import weakref
from collections import OrderedDict
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..errors import ConfigError
from .bank import DEFAULT_FLOOR, DEFAULT_TEST_FUNCTIONS, evaluate_test_functions, \
    get_test_function, null_moments
from .spectra import WindowSpectra

__all__ = ["LinearEigenvalueStatistics", "check_spectra"]


class _BandValuesCache:
    """Raw test-function values of one subject's band at one MP ratio, for reuse.

    The LES step is refitted in every fold, and the permutation test refits it on the
    same folds again and again: the reference ratio ``c`` (the training median) repeats,
    and so do the values of every subject at that ratio. Entries are keyed by the
    spectra object (held weakly: a freed object is never matched), the band, the exact
    ratio, the function names and the floor, so a hit returns exactly what would be
    computed; the cache cannot change a result. Least recently used entries go first
    beyond ``max_bytes``.
    """

    def __init__(self, max_bytes: int = 2 ** 27):
        self.max_bytes = max_bytes
        self._entries: OrderedDict = OrderedDict()
        self._bytes = 0
        self.hits = self.misses = 0

    def get(self, spec, key):
        entry = self._entries.get((id(spec), *key))
        if entry is None or entry[0]() is not spec:
            self.misses += 1
            return None
        self._entries.move_to_end((id(spec), *key))
        self.hits += 1
        return entry[1]

    def put(self, spec, key, values):
        values.setflags(write=False)
        full = (id(spec), *key)
        old = self._entries.pop(full, None)
        if old is not None:
            self._bytes -= old[1].nbytes
        # a freed spectra object takes its entries with it (joblib workers unpickle new
        # copies for every task: their values must not linger until evicted)
        self._entries[full] = (weakref.ref(spec, lambda ref, k=full: self._drop(k, ref)),
                               values)
        self._bytes += values.nbytes
        while self._bytes > self.max_bytes and len(self._entries) > 1:
            self._bytes -= self._entries.popitem(last=False)[1][1].nbytes

    def _drop(self, key, ref):
        entry = self._entries.get(key)
        if entry is not None and entry[0] is ref:
            del self._entries[key]
            self._bytes -= entry[1].nbytes


_VALUES = _BandValuesCache()


def check_spectra(X, name: str = "X") -> list[WindowSpectra]:
    """Check ``X`` is a non-empty list of compatible :class:`WindowSpectra`."""
    if isinstance(X, WindowSpectra) or not hasattr(X, "__len__") or len(X) == 0:
        raise ConfigError(f"{name} must be a non-empty list of WindowSpectra (the output of "
                          f"EigenSpectra), got {type(X).__name__}")
    X = list(X)
    for i, s in enumerate(X):
        if not isinstance(s, WindowSpectra):
            raise ConfigError(f"{name}[{i}]: expected WindowSpectra (the output of "
                              f"EigenSpectra), got {type(s).__name__}")
    ref = X[0]
    for i, s in enumerate(X[1:], start=1):
        if s.bands != ref.bands or s.n_channels != ref.n_channels or s.kind != ref.kind:
            raise ConfigError(
                f"{name}[{i}]: spectra do not match subject 0: bands {s.bands} vs "
                f"{ref.bands}, {s.n_channels} vs {ref.n_channels} channels, kind "
                f"{s.kind!r} vs {ref.kind!r}")
    return X


def check_fitted_layout(spectra, bands, n_channels, kind=None) -> None:
    """Refuse spectra whose bands, channel count or kind (when given) differ from the
    ones a transformer was fitted on."""
    s0 = spectra[0]
    if s0.bands != bands or s0.n_channels != n_channels or (kind is not None
                                                            and s0.kind != kind):
        raise ConfigError(
            f"spectra do not match the fitted layout: bands {s0.bands} vs {bands}, "
            f"{s0.n_channels} vs {n_channels} channels"
            + ("" if kind is None else f", kind {s0.kind!r} vs {kind!r}"))


class LinearEigenvalueStatistics(TransformerMixin, BaseEstimator):
    """Test-function statistics of every window spectrum, per band.

    Parameters
    ----------
    test_functions : sequence of str, optional
        Names from the bank (:data:`neurodx.rmt.TEST_FUNCTIONS`, plus ``bulk_<name>``
        variants of the averaged ones); default
        :data:`neurodx.rmt.DEFAULT_TEST_FUNCTIONS`.
    floor : float
        Floor on normalised eigenvalues for logarithms and inverses.
    standardize : bool
        Centre and scale each statistic by its mean and standard deviation under the
        white-noise MP null at the same ``(N, T_eff)`` (Monte Carlo at the exact finite
        size, cached; see :func:`neurodx.rmt.null_moments`, including its caveat for
        ``T_eff < N``), so features read as null standard deviations away from "no
        spatial structure" and are comparable across channel counts and window
        lengths. Statistics whose null spread is zero are only centred.
        Classification is unaffected (one affine map shared by all subjects).
    n_draws : int
        Monte-Carlo draws of the null (``standardize=True``).
    random_state : int
        Seed of the Monte-Carlo null.
    ring_step : int
        Windows between two that do not overlap (2 at 50 % overlap): the ring-law
        entries ``msr_l<L>`` multiply ``L`` such windows of one subject
        (:mod:`neurodx.rmt.ring_law`).

    Attributes
    ----------
    bands_ : tuple of str
    test_functions_ : tuple of str
    n_channels_ : int
    n_eff_ : ndarray, shape (n_bands,)
        Reference effective sample size per band: the median over the training
        subjects. It sets the MP ratio ``c = N / T_eff`` (edges, bulk) for every
        subject, so all subjects are measured against the same reference.
    null_mean_, null_sd_ : ndarray, shape (n_bands, n_functions)
        Null moments used for standardisation (``standardize=True``).

    Notes
    -----
    ``X`` is a list of :class:`WindowSpectra`; ``transform`` returns a list of arrays
    ``(n_windows, n_bands * n_functions)``, one per subject, columns ordered band by
    band as in :meth:`get_feature_names_out` (``"alpha_vne"``).
    """

    def __init__(self, test_functions=None, floor=DEFAULT_FLOOR, standardize=False,
                 n_draws=200, random_state=0, ring_step=2):
        self.test_functions = test_functions
        self.floor = floor
        self.standardize = standardize
        self.n_draws = n_draws
        self.random_state = random_state
        self.ring_step = ring_step

    def _validate_params(self):
        names = DEFAULT_TEST_FUNCTIONS if self.test_functions is None else self.test_functions
        if isinstance(names, str) or not hasattr(names, "__iter__"):
            raise ConfigError(f"test_functions must be a sequence of names, got {names!r}")
        names = tuple(names)
        if not names:
            raise ConfigError("test_functions is empty: expected at least one name")
        if len(set(names)) != len(names):
            raise ConfigError(f"test_functions has duplicates: {names}")
        for n in names:
            get_test_function(n)
        if not (isinstance(self.floor, Real) and self.floor > 0):
            raise ConfigError(f"floor must be a positive number, got {self.floor!r}")
        if not (isinstance(self.n_draws, Integral) and self.n_draws >= 10):
            raise ConfigError(f"n_draws must be an integer >= 10, got {self.n_draws!r}")
        if not isinstance(self.random_state, Integral):
            raise ConfigError(f"random_state must be an integer seed (the null is cached per "
                              f"seed), got {self.random_state!r}")
        return names

    def fit(self, X, y=None):
        """Learn the band layout and, per band, the reference MP ratio and null.

        Parameters
        ----------
        X : list of WindowSpectra
        y : ignored

        Returns
        -------
        self
        """
        names = self._validate_params()
        spectra = check_spectra(X)
        self.test_functions_ = names
        self.bands_ = spectra[0].bands
        self.n_channels_ = spectra[0].n_channels
        self.kind_ = spectra[0].kind
        self.feature_names_out_ = np.array(
            [f"{b}_{f}" for b in self.bands_ for f in names], dtype=object)
        self.n_eff_ = np.median(np.stack([s.n_eff for s in spectra]), axis=0)
        if self.standardize:
            moments = [self._null(b) for b in range(len(self.bands_))]
            self.null_mean_ = np.stack([m[0] for m in moments])
            self.null_sd_ = np.stack([m[1] for m in moments])
        return self

    def _null(self, band):
        mean, sd = null_moments(self.test_functions_, self.n_channels_, self.n_eff_[band],
                                kind=self.kind_, floor=self.floor, n_draws=self.n_draws,
                                seed=self.random_state)
        # a statistic that cannot vary under the null (sd ~ 0) is only centred
        return mean, np.where(sd > 1e-12 * np.maximum(1.0, np.abs(mean)), sd, 1.0)

    def transform(self, X):
        """Statistics of each window.

        Returns
        -------
        features : list of ndarray, each (n_windows, n_bands * n_functions)
        """
        check_is_fitted(self, "feature_names_out_")
        spectra = check_spectra(X)
        check_fitted_layout(spectra, self.bands_, self.n_channels_, self.kind_)
        out = []
        for b in range(len(self.bands_)):
            vals = np.concatenate(self._band_values(spectra, b))
            if self.standardize:
                vals = (vals - self.null_mean_[b]) / self.null_sd_[b]
            out.append(vals)
        split = np.cumsum([s.n_windows for s in spectra])[:-1]
        return np.split(np.concatenate(out, axis=1), split)

    def _band_values(self, spectra, band):
        """Raw statistics of every subject's windows in ``band`` at the reference ratio."""
        c = self.n_channels_ / float(self.n_eff_[band])
        step = int(getattr(self, "ring_step", 2))   # bundles saved before the parameter
        key = (band, c, self.test_functions_, float(self.floor), step)
        values = [_VALUES.get(s, key) for s in spectra]
        todo = [i for i, v in enumerate(values) if v is None]
        if todo:
            # the missing subjects' windows in one batch: the functions are row-wise, and
            # a call per subject would cost more in overhead than in arithmetic
            lam = np.concatenate([spectra[i].normalized()[band] for i in todo])
            new = evaluate_test_functions(lam, self.test_functions_, c, floor=self.floor,
                                          lengths=[spectra[i].n_windows for i in todo],
                                          ring_step=step)
            for i, part in zip(todo, np.split(new, np.cumsum(
                    [spectra[i].n_windows for i in todo])[:-1])):
                values[i] = part.copy()
                _VALUES.put(spectra[i], key, values[i])
        return values

    def get_feature_names_out(self, input_features=None):
        """Names ``"<band>_<function>"``, in column order."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
