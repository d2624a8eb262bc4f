"""The bank of spectral test functions behind the linear eigenvalue statistics (LES).

Each test function maps a normalised spectrum ``lambda_1 <= ... <= lambda_N`` (the
eigenvalues divided by the MP scale ``sigma2``, so they average 1) to one number.
Most are linear eigenvalue statistics in the strict sense, ``(1/N) sum_i g(lambda_i)``
(an average rather than a sum, so that values are comparable across channel counts);
these are registered with ``elementwise=True`` and automatically get a bulk-only
variant ``"bulk_<name>"``: the average of ``g`` over the eigenvalues at or below
the MP upper edge.

The ring-law indicators ``msr_l<L>`` (mean spectral radius of a product of ``L``
singular-value-equivalent matrices) are defined in :mod:`neurodx.rmt.ring_law`.

Adding a test function is one decorated definition in this file (or a call to
:func:`register_test_function` from user code)::

    @register_test_function("m5", "fifth power moment", elementwise=True)
    def _m5(lam, ctx):
        return lam ** 5

Floor
-----
Eigenvalues can be zero or slightly negative: ``c >= 1`` (fewer effective samples
than channels, e.g. narrow bands in short windows), average-referenced EEG (one
exact zero), flat channels, float32 rounding. Functions that need positive values
(logarithms, inverses) use ``max(lambda, floor)`` with ``floor = 1e-3`` by default,
on the normalised scale; every eigenvalue below the floor then counts the same,
which keeps round-off and filter stop-band leakage (which decide how close to zero
such eigenvalues are) out of the features.

Null moments
------------
:func:`null_moments` gives the mean and standard deviation of each function under
the white-noise null (``N`` independent Gaussian channels, ``T_eff`` samples), by
Monte Carlo at the exact finite size, cached per ``(N, T_eff, kind, n_draws, seed)``
and reproducible (the seed is derived from those numbers, not drawn from a global
generator). Closed-form MP means exist for some functions (power moments,
:func:`neurodx.rmt.marchenko_pastur_moments`) but are asymptotic: their ``O(1/T)``
bias is of the same order as the spread of a window's statistic, so Monte-Carlo
moments are used for standardisation (the tests check them against the closed
forms).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import re

import numpy as np
from numpy.polynomial import chebyshev

from ..errors import ConfigError
from .marchenko_pastur import marchenko_pastur_edges, sample_marchenko_pastur
from .ring_law import mean_spectral_radius

__all__ = ["SpectralContext", "SpectralFunction", "TEST_FUNCTIONS", "DEFAULT_TEST_FUNCTIONS",
           "register_test_function", "get_test_function", "evaluate_test_functions",
           "null_moments", "DEFAULT_FLOOR"]

#: Default floor on normalised eigenvalues (see the module docstring).
DEFAULT_FLOOR = 1e-3


@dataclass(frozen=True)
class SpectralContext:
    """What a test function may know besides the eigenvalues.

    Attributes
    ----------
    c : float
        MP ratio ``N / T_eff``.
    lower, upper : float
        MP edges at ``sigma2 = 1``.
    floor : float
        Floor for functions that need positive eigenvalues.
    lengths : tuple of int, optional
        Windows per recording when the rows are several recordings' windows in time
        order (the ring-law products take windows of one recording); None: one.
    step : int
        Windows between two that do not overlap (ring-law products).
    """

    c: float
    lower: float
    upper: float
    floor: float = DEFAULT_FLOOR
    lengths: tuple | None = None
    step: int = 1

    @classmethod
    def from_ratio(cls, c: float, floor: float = DEFAULT_FLOOR, *, lengths=None,
                   step: int = 1) -> "SpectralContext":
        lower, upper = marchenko_pastur_edges(c)
        return cls(c=float(c), lower=lower, upper=upper, floor=float(floor),
                   lengths=None if lengths is None else tuple(int(n) for n in lengths),
                   step=int(step))


@dataclass(frozen=True)
class SpectralFunction:
    """One registered test function.

    Attributes
    ----------
    name : str
        Short name used in feature names (``"alpha_vne"``).
    func : callable
        ``func(lam, ctx)`` with ``lam`` of shape ``(..., N)`` (normalised, ascending).
        Returns ``g(lam)`` elementwise (same shape) if ``elementwise``, otherwise the
        statistic of each spectrum, shape ``(...,)``.
    description : str
        One line, shown in the documentation of the bank.
    elementwise : bool
        Whether the statistic is the average of ``func`` over the eigenvalues.
    bulk : bool
        Average over the eigenvalues ``<= ctx.upper`` only (derived ``bulk_`` entries).
    """

    name: str
    func: Callable
    description: str
    elementwise: bool = False
    bulk: bool = False

    def __call__(self, lam: np.ndarray, ctx: SpectralContext) -> np.ndarray:
        lam = np.asarray(lam, dtype=np.float64)
        if not self.elementwise:
            return self.func(lam, ctx)
        g = self.func(lam, ctx)
        if not self.bulk:
            return g.mean(axis=-1)
        mask = lam <= ctx.upper
        # normalised spectra average 1 <= upper, so the bulk is never empty
        return np.sum(np.where(mask, g, 0.0), axis=-1) / np.maximum(mask.sum(axis=-1), 1)


#: The registry: name -> :class:`SpectralFunction`.
TEST_FUNCTIONS: dict[str, SpectralFunction] = {}


def register_test_function(name: str, description: str, *, elementwise: bool = False):
    """Decorator adding ``func(lam, ctx)`` to :data:`TEST_FUNCTIONS` under ``name``."""
    if not name.isidentifier() or name.startswith("bulk_"):
        raise ConfigError(f"test function names must be identifiers not starting with "
                          f"'bulk_' (reserved for bulk variants), got {name!r}")

    def decorator(func):
        TEST_FUNCTIONS[name] = SpectralFunction(name, func, description, elementwise)
        return func
    return decorator


def get_test_function(name: str) -> SpectralFunction:
    """Look up a test function, including derived ``bulk_<name>`` and ``msr_l<L>`` entries."""
    if name in TEST_FUNCTIONS:
        return TEST_FUNCTIONS[name]
    if isinstance(name, str) and re.fullmatch(r"msr_l[1-9][0-9]?", name):
        return SpectralFunction(name, _msr(int(name[5:])), _msr_description(int(name[5:])))
    if isinstance(name, str) and name.startswith("bulk_"):
        base = TEST_FUNCTIONS.get(name[5:])
        if base is not None and base.elementwise:
            return SpectralFunction(name, base.func, f"{base.description} (bulk only)",
                                    elementwise=True, bulk=True)
        if base is not None:
            raise ConfigError(f"{name!r}: {base.name!r} is not an average over eigenvalues, "
                              f"so it has no bulk-only variant")
    available = sorted(TEST_FUNCTIONS) + ["bulk_<name>"]
    raise ConfigError(f"unknown test function {name!r}; available: {available}")


def _floored(lam, ctx):
    return np.maximum(lam, ctx.floor)


@register_test_function("vne", "von Neumann entropy -sum p log p, p = lambda / sum(lambda)")
def _vne(lam, ctx):
    pos = np.clip(lam, 0.0, None)
    p = pos / pos.sum(axis=-1, keepdims=True)
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=-1)


@register_test_function("logdet", "log-determinant per channel: mean log max(lambda, floor)",
                        elementwise=True)
def _logdet(lam, ctx):
    return np.log(_floored(lam, ctx))


@register_test_function("stein", "Stein loss to the identity: mean lambda - ln lambda - 1",
                        elementwise=True)
def _stein(lam, ctx):
    lf = _floored(lam, ctx)
    return lf - np.log(lf) - 1.0


@register_test_function("inv_stein", "inverse Stein loss: mean 1/lambda + ln lambda - 1",
                        elementwise=True)
def _inv_stein(lam, ctx):
    lf = _floored(lam, ctx)
    return 1.0 / lf + np.log(lf) - 1.0


@register_test_function("sqrt_dev", "mean (sqrt(lambda) - 1)^2", elementwise=True)
def _sqrt_dev(lam, ctx):
    return (np.sqrt(np.clip(lam, 0.0, None)) - 1.0) ** 2


def _chebyshev(k):
    coef = np.zeros(k + 1)
    coef[k] = 1.0

    def func(lam, ctx):
        # affine map of the MP support [lower, upper] onto [-1, 1]
        u = (2.0 * lam - (ctx.upper + ctx.lower)) / (ctx.upper - ctx.lower)
        return chebyshev.chebval(u, coef)
    func.__name__ = f"_cheb{k}"
    return func


for _k in range(2, 6):
    register_test_function(f"cheb{_k}", f"Chebyshev T{_k} on the MP support mapped to [-1, 1]",
                           elementwise=True)(_chebyshev(_k))


def _power(k):
    def func(lam, ctx):
        return lam ** k
    func.__name__ = f"_m{k}"
    return func


for _k in range(1, 5):
    register_test_function(f"m{_k}", f"power moment mean lambda^{_k}",
                           elementwise=True)(_power(_k))


@register_test_function("n_above", "number of eigenvalues above the MP upper edge")
def _n_above(lam, ctx):
    return np.sum(lam > ctx.upper, axis=-1).astype(np.float64)


@register_test_function("mass_above", "fraction of the trace above the MP upper edge")
def _mass_above(lam, ctx):
    pos = np.clip(lam, 0.0, None)
    return np.sum(np.where(lam > ctx.upper, pos, 0.0), axis=-1) / pos.sum(axis=-1)


@register_test_function("lmax", "largest eigenvalue")
def _lmax(lam, ctx):
    return lam.max(axis=-1)


def _msr(n_factors):
    def func(lam, ctx):
        rows = lam.reshape(-1, lam.shape[-1])
        return mean_spectral_radius(rows, ctx.c, n_factors, lengths=ctx.lengths,
                                    step=ctx.step).reshape(lam.shape[:-1])
    func.__name__ = f"_msr_l{n_factors}"
    return func


def _msr_description(n_factors):
    return (f"ring law: mean spectral radius of the product of the singular-value-"
            f"equivalent matrices of {n_factors} non-overlapping windows "
            "(neurodx.rmt.ring_law)")


# Ring-law indicators: any L from 1 to 99 by name (``msr_l3``); L = 1 and 5 registered.
for _k in (1, 5):
    register_test_function(f"msr_l{_k}", _msr_description(_k))(_msr(_k))


#: Used when ``test_functions=None``. ``m1`` is left out: normalised spectra average
#: exactly 1, so it would be a constant (float rounding aside).
DEFAULT_TEST_FUNCTIONS: tuple[str, ...] = (
    "vne", "logdet", "stein", "inv_stein", "sqrt_dev", "cheb2", "cheb3", "cheb4", "cheb5",
    "m2", "m3", "m4", "n_above", "mass_above", "lmax", "bulk_logdet", "bulk_stein", "bulk_m2",
    "msr_l1", "msr_l5",
)


def evaluate_test_functions(lam, names: Sequence[str], c: float, *,
                            floor: float = DEFAULT_FLOOR, lengths=None,
                            ring_step: int = 1) -> np.ndarray:
    """Evaluate test functions on a stack of normalised spectra.

    Parameters
    ----------
    lam : array_like, shape (..., N)
        Eigenvalues divided by the MP scale (ascending order not required).
    names : sequence of str
        Registered names (see :data:`TEST_FUNCTIONS`) or ``bulk_<name>``.
    c : float
        MP ratio ``N / T_eff`` (sets the edges).
    floor : float
        Floor for functions needing positive eigenvalues.
    lengths : sequence of int, optional
        Windows per recording, when ``lam`` stacks several recordings' windows (in
        time order); the ring-law entries (``msr_l<L>``, ``L > 1``) multiply windows of
        one recording only. Default: all rows are one recording.
    ring_step : int
        Windows between two that do not overlap (2 at 50 % overlap), for the ring law.

    Returns
    -------
    values : ndarray, shape (..., len(names))
    """
    ctx = SpectralContext.from_ratio(c, floor, lengths=lengths, step=ring_step)
    lam = np.asarray(lam, dtype=np.float64)
    funcs = [get_test_function(n) for n in names]
    return np.stack([f(lam, ctx) for f in funcs], axis=-1)


_KIND_CODES = {"correlation": 0, "covariance": 1}


def _normalise(lam, kind):
    # same normalisation as the data: covariance spectra are divided by tr(S) / N
    return lam / lam.mean(axis=-1, keepdims=True) if kind == "covariance" else lam


@lru_cache(maxsize=64)
def _white_null(n: int, t: int, kind: str, n_draws: int, seed: int) -> np.ndarray:
    # the seed mixes the user seed with the sizes, so each (N, t) has its own stream
    # and results do not depend on which sizes were requested before
    rng = np.random.default_rng([seed, n, t, _KIND_CODES[kind]])
    lam = _normalise(sample_marchenko_pastur(n, t, n_draws, kind=kind, random_state=rng), kind)
    lam.setflags(write=False)
    return lam


def null_moments(names: Sequence[str], n: int, t_eff: float, *, kind: str = "correlation",
                 floor: float = DEFAULT_FLOOR, n_draws: int = 200, seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of test functions under the white-noise MP null.

    Spectra of ``n_draws`` correlation (or trace-normalised covariance) matrices of
    ``n`` independent white Gaussian channels with ``round(t_eff)`` samples are
    simulated (cached per ``(n, round(t_eff), kind, n_draws, seed)``, with a stream
    seeded from all of them), and each statistic is evaluated with the MP ratio
    ``n / t_eff`` (edges, bulk), exactly as for the data; the ring-law entries
    ``msr_l<L>`` multiply ``L`` consecutive (independent) draws.

    Caveat: with ``t_eff < n`` (narrow bands in short windows) the data's near-zero
    eigenvalues come from the band-pass filter's stop band, not from an exact MP
    atom, so statistics driven by them (``logdet``, ``stein``, ``inv_stein`` and their
    bulk variants) sit many null standard deviations away even for pure noise. They
    remain valid features (the same affine map applies to every subject) but are not
    calibrated z-scores there.

    Returns
    -------
    mean, sd : ndarray, shape (len(names),)
    """
    if kind not in _KIND_CODES:
        raise ConfigError(f"kind must be one of {tuple(_KIND_CODES)}, got {kind!r}")
    mean, sd = _null_moments(tuple(names), int(n), float(t_eff), kind, float(floor),
                             int(n_draws), int(seed))
    return mean.copy(), sd.copy()


@lru_cache(maxsize=256)
def _null_moments(names, n, t_eff, kind, floor, n_draws, seed):
    # cached on the exact arguments: the LES step is refitted in every fold and
    # permutation, and the permutation test repeats the same folds (same t_eff)
    t = max(2, int(round(t_eff)))
    lam = _white_null(n, t, kind, n_draws, seed)
    values = evaluate_test_functions(lam, names, n / t_eff, floor=floor)
    return values.mean(axis=0), values.std(axis=0, ddof=1)
