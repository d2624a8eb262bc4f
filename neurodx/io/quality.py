"""Per-channel signal quality, scanned in chunks so long recordings never sit in memory twice.

One pass over the data gives, per channel: non-finite samples, standard
deviation, and how many samples sit at the channel's extreme values (clipping).
The same scan serves EEG (volts) and region time series (arbitrary units).
What a study does with a flat channel is its ``flat_policy`` (:data:`FLAT_POLICIES`),
applied by :mod:`neurodx.io.validation`.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["SignalQuality", "scan_signal", "quality_problems", "flat_channels", "FLAT_POLICIES",
           "BAD_CHANNEL_POLICIES"]

#: What a study does with flat channels or regions (``eeg.flat_policy``,
#: ``regions.flat_policy``): stop (``refuse``), remove them from every subject
#: (``drop``), or leave out the subjects that have them (``skip_subject``).
FLAT_POLICIES = ("refuse", "drop", "skip_subject")
#: What a study does with channels marked bad in a recording (``status: bad`` in a
#: BIDS ``_channels.tsv``, or ``info["bads"]`` of a FIF file), ``eeg.bad_channels``:
#: remove them from every subject (``exclude``), rebuild them from their
#: neighbours by spherical splines (``interpolate``, needs electrode positions), or
#: use them as they are (``ignore``).
BAD_CHANNEL_POLICIES = ("exclude", "interpolate", "ignore")


@dataclass(frozen=True)
class SignalQuality:
    """Per-channel summary of a recording (arrays of length n_channels)."""

    names: tuple[str, ...]
    n_times: int
    n_nonfinite: np.ndarray
    std: np.ndarray
    n_at_extremes: np.ndarray


def scan_signal(read_chunk: Callable[[int, int], np.ndarray], names: Sequence[str], n_times: int,
                chunk: int = 100_000) -> SignalQuality:
    """Scan a ``(n_channels, n_times)`` signal through ``read_chunk(start, stop)``.

    Extreme-value counts are kept in one pass: a running max (min) and the number
    of samples equal to it, restarted whenever a chunk reaches a new extreme.
    """
    with warnings.catch_warnings():  # all-NaN channels are reported, not warned about
        warnings.simplefilter("ignore", RuntimeWarning)
        return _scan(read_chunk, names, n_times, chunk)


def _scan(read_chunk, names, n_times, chunk):
    n_ch = len(names)
    nonfinite = np.zeros(n_ch, dtype=np.int64)
    count = np.zeros(n_ch, dtype=np.int64)
    total = np.zeros(n_ch)
    total_sq = np.zeros(n_ch)
    hi = np.full(n_ch, -np.inf)
    lo = np.full(n_ch, np.inf)
    n_hi = np.zeros(n_ch, dtype=np.int64)
    n_lo = np.zeros(n_ch, dtype=np.int64)
    shift = None  # per-channel median of the first chunk, subtracted for a stable variance
    for start in range(0, n_times, chunk):
        x = np.asarray(read_chunk(start, min(n_times, start + chunk)), dtype=np.float64)
        finite = np.isfinite(x)
        nonfinite += (~finite).sum(axis=1)
        x = np.where(finite, x, np.nan)
        if shift is None:
            shift = np.nan_to_num(np.nanmedian(x, axis=1)) if x.size else np.zeros(n_ch)
        xs = x - shift[:, None]
        count += finite.sum(axis=1)
        total += np.nansum(xs, axis=1)
        total_sq += np.nansum(xs * xs, axis=1)
        c_hi = np.nanmax(x, axis=1)
        c_lo = np.nanmin(x, axis=1)
        n_c_hi = (x == c_hi[:, None]).sum(axis=1)
        n_c_lo = (x == c_lo[:, None]).sum(axis=1)
        n_hi = np.where(c_hi > hi, n_c_hi, np.where(c_hi == hi, n_hi + n_c_hi, n_hi))
        n_lo = np.where(c_lo < lo, n_c_lo, np.where(c_lo == lo, n_lo + n_c_lo, n_lo))
        hi = np.fmax(hi, c_hi)
        lo = np.fmin(lo, c_lo)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        var = np.maximum(total_sq / count - mean ** 2, 0.0)
    return SignalQuality(tuple(names), n_times, nonfinite, np.sqrt(var), n_hi + n_lo)


def _names(q: SignalQuality, mask: np.ndarray, limit: int = 8) -> str:
    picked = [q.names[i] for i in np.flatnonzero(mask)]
    return ", ".join(picked[:limit]) + (f" ... ({len(picked)} in all)" if len(picked) > limit else "")


def _flat_mask(q: SignalQuality, flat_std: float, flat_ratio: float) -> np.ndarray:
    bad_values = q.n_nonfinite > 0
    std = np.nan_to_num(q.std, nan=0.0)
    finite_std = std[~bad_values] if (~bad_values).any() else std
    reference = float(np.median(finite_std)) if finite_std.size else 0.0
    flat = (std <= flat_std) | (std < flat_ratio * reference)
    # An all-NaN channel is reported once, as NaN.
    return flat & (~bad_values | (q.n_nonfinite < q.n_times))


def flat_channels(q: SignalQuality, *, flat_std: float, flat_ratio: float) -> list[str]:
    """Names of the flat channels, in recording order.

    A channel is flat when its standard deviation is at most ``flat_std`` or
    below ``flat_ratio`` times the median standard deviation of the channels
    without NaN/Inf (a disconnected electrode still picks up a little noise).
    """
    return [q.names[i] for i in np.flatnonzero(_flat_mask(q, flat_std, flat_ratio))]


def quality_problems(q: SignalQuality, *, flat_std: float, flat_ratio: float,
                     saturation_fraction: float, unit: str = "channel",
                     flat: bool = True) -> list[str]:
    """Messages for non-finite, flat and saturated channels (empty list when clean).

    ``flat=False`` leaves flat channels out of the messages (the caller applies
    a flat policy to :func:`flat_channels`); they are still not called saturated.
    """
    out = []
    bad_values = q.n_nonfinite > 0
    if bad_values.any():
        out.append(f"NaN/Inf values in {bad_values.sum()} {unit}(s): {_names(q, bad_values)}")
    is_flat = _flat_mask(q, flat_std, flat_ratio)
    if flat and is_flat.any():
        out.append(f"flat {unit}(s) ({is_flat.sum()}): {_names(q, is_flat)}")
    saturated = (q.n_at_extremes > max(saturation_fraction * q.n_times, 10)) & ~is_flat
    if saturated.any():
        out.append(f"saturated (clipped) {unit}(s) ({saturated.sum()}): {_names(q, saturated)}")
    return out
