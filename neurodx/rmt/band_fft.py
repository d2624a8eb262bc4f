"""Band-limited scatter matrices of every window, from one real FFT per window.

The one band representation of a recording shared by the RMT steps (window
spectra, cleaned band covariances, LES): for every band and every window the
scatter matrix ``S = sum_t x_b(t) x_b(t)^T`` of the window's band-limited,
demeaned signal, and the band's effective number of samples per window.

Why the frequency domain
------------------------
Filtering the recording once per band with an FIR filter at the recording's rate
(1000 Hz for EEG bands that end at 45 Hz) and then forming ``X X^T`` per window
repeats for each band a convolution over every sample. Instead each window is
transformed once (``rfft``, ``T`` samples -> ``T // 2 + 1`` bins) and, by
Parseval, the scatter of the window's *ideal* band-pass is a product over the
band's bins only:

``S_b = (2 / T) Re sum_{k in band} X_k X_k^H``

(interior bins counted twice for their negative-frequency twin; the Nyquist bin
once; the DC bin never: that is the per-window demeaning). Each band costs one
real matrix product over ``2 K`` columns (real and imaginary parts of its ``K``
bins) instead of a filter pass over the recording plus a product over ``T``
columns.

Effective sample size
---------------------
For white noise, the real and imaginary parts of the ``K`` interior bins are
``2 K`` independent Gaussian samples, so ``S_b`` is exactly Wishart with ``2 K``
degrees of freedom: its spectrum follows ``MP(c = N / 2K)``. For a non-flat
spectrum inside the band the spectral participation ratio of the band's bins
(:func:`participation_ratio` of the channel-normalised power, zero outside the
band) gives ``T_eff``, the same definition as
:func:`neurodx.rmt.effective_sample_size` applied to the ideal band-passed
window; it is computed from the same FFT, for free.

This is a different (ideal, window-local) band-pass than the FIR filter of the
whole recording used before; ``validation/`` compares the routes' accuracies.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real

import mne
import numpy as np
import scipy.fft

from ..errors import ConfigError

__all__ = ["BandScatter", "band_scatter", "participation_ratio", "recording_band_scatter"]

# Windows are transformed in chunks of about this many samples, so the recording is
# streamed: neither a float32 copy of it nor one filtered copy per band ever exists.
_CHUNK_ELEMENTS = 2 ** 22


def _rfft_weights(n_samples):
    # rfft keeps one side of the spectrum: interior bins stand for two full-grid bins
    weights = np.full(n_samples // 2 + 1, 2.0)
    weights[0] = 1.0
    if n_samples % 2 == 0:
        weights[-1] = 1.0
    return weights


def participation_ratio(power, n_samples: int) -> float:
    """``(sum_k P_k)^2 / sum_k P_k^2`` over the full DFT grid of a one-sided spectrum."""
    power = np.asarray(power, dtype=np.float64)
    if power.shape != (n_samples // 2 + 1,):
        raise ConfigError(f"power must have n_samples // 2 + 1 = {n_samples // 2 + 1} "
                          f"values, got shape {power.shape}")
    w = _rfft_weights(n_samples)
    t_eff = np.sum(w * power) ** 2 / np.sum(w * power ** 2)
    return float(np.clip(t_eff, 1.0, n_samples - 1))


@dataclass(frozen=True, eq=False)
class BandScatter:
    """Band-limited window scatter matrices of one recording, all bands.

    Attributes
    ----------
    scatter : ndarray, shape (n_bands, n_windows, n_channels, n_channels)
        ``sum_t x_b(t) x_b(t)^T`` of each window's demeaned band signal
        (``scatter / (n_samples - 1)`` is the window's sample covariance).
    bands : tuple of str
    band_edges : tuple
        ``(low, high)`` in Hz per band, ``None`` for an unfiltered band.
    n_samples : int
        Samples per window ``T`` (at the recording's rate).
    step : int
        Samples between consecutive window starts.
    sfreq : float or None
    power_ratio : ndarray, shape (n_bands,)
        Spectral participation ratio ``T_eff`` of each band (per window).
    """

    scatter: np.ndarray
    bands: tuple
    band_edges: tuple
    n_samples: int
    step: int
    sfreq: float | None
    power_ratio: np.ndarray

    @property
    def n_windows(self) -> int:
        return self.scatter.shape[1]

    def every(self, k: int) -> BandScatter:
        """The same recording on a grid ``k`` times coarser (every ``k``-th window)."""
        if k == 1:
            return self
        return BandScatter(self.scatter[:, ::k], self.bands, self.band_edges, self.n_samples,
                           self.step * k, self.sfreq, self.power_ratio)

    def n_eff(self, rule, b: int) -> float:
        """Effective samples per window of band ``b`` under an ``n_eff`` rule.

        ``"spectral"``: the band's participation ratio; ``"nominal"``: ``T - 1``; a
        positive number; or a mapping ``band -> rule``.
        """
        band = self.bands[b]
        if isinstance(rule, Mapping):
            if band not in rule:
                raise ConfigError(f"n_eff mapping has no entry for band {band!r} "
                                  f"(has {sorted(rule)})")
            rule = rule[band]
        if isinstance(rule, str):
            if rule == "spectral":
                return float(self.power_ratio[b])
            if rule == "nominal":
                return float(self.n_samples - 1)
        elif isinstance(rule, Real) and not isinstance(rule, bool) and rule > 0:
            return float(rule)
        raise ConfigError(f"n_eff must be 'spectral', 'nominal', a positive number or a "
                          f"mapping band -> one of these, got {rule!r} for band {band!r}")

    def coverage(self) -> float:
        """Distinct samples covered by the windows, in window lengths."""
        n_s = self.n_samples
        return (n_s + (self.n_windows - 1) * min(self.step, n_s)) / n_s


def _band_bins(edges, n_samples, sfreq):
    n_bins = n_samples // 2 + 1
    if edges is None:
        return 1, n_bins                       # every bin but DC (demeaning)
    freqs = np.arange(n_bins) * (sfreq / n_samples)
    inside = np.flatnonzero((freqs >= edges[0]) & (freqs <= edges[1]) & (np.arange(n_bins) > 0))
    if inside.size == 0:
        raise ConfigError(f"band {edges} Hz holds no frequency bin of a {n_samples}-sample "
                          f"window at {sfreq} Hz (bins are {sfreq / n_samples:.3g} Hz apart): "
                          f"widen the band or lengthen 'window'")
    return int(inside[0]), int(inside[-1]) + 1


def band_scatter(windows, bands: Mapping | None = None, *, sfreq: float | None = None,
                 step: int | None = None, dtype=np.float32) -> BandScatter:
    """Band-limited scatter matrices of a stack (or an iterable of chunks) of windows.

    Parameters
    ----------
    windows : ndarray, shape (n_windows, n_channels, n_samples), or iterable of such
        Raw (unfiltered) windows; an iterable of chunks is consumed once (streaming).
    bands : mapping
        ``{name: (low_hz, high_hz) or None}``; ``None`` keeps every non-DC bin (the
        plain demeaned scatter). Default: ``{"broadband": None}``.
    sfreq : float
        Sampling rate; required when a band has edges.
    step : int, optional
        Samples between window starts (default: ``n_samples``, no overlap); only
        recorded for the coverage of pooled estimates.
    dtype : {"float32", "float64"}
        Working precision of the FFT and the products; scatter matrices are
        accumulated and returned in this dtype.

    Returns
    -------
    BandScatter
    """
    bands = {"broadband": None} if bands is None else dict(bands)
    dtype = np.dtype(dtype)
    chunks = [windows] if hasattr(windows, "ndim") else windows
    out, power, n_s, n_valid = None, None, None, None
    for chunk in chunks:
        chunk = np.asarray(chunk)
        if chunk.ndim != 3 or chunk.shape[1] < 2 or chunk.shape[2] < 2:
            raise ConfigError(f"windows must be (n_windows, n_channels, n_samples) with at "
                              f"least 2 channels and 2 samples, got shape {chunk.shape}")
        if n_s is None:
            n_s, n_ch = chunk.shape[2], chunk.shape[1]
            if any(e is not None for e in bands.values()) and sfreq is None:
                raise ConfigError("sfreq is required to cut windows into frequency bands")
            spans = [_band_bins(e, n_s, sfreq) for e in bands.values()]
            out = [[] for _ in bands]
            power = np.zeros((len(bands), n_s // 2 + 1))
            n_valid = np.zeros(len(bands))
        spec = scipy.fft.rfft(chunk.astype(dtype, copy=False), axis=-1)
        for b, (lo, hi) in enumerate(spans):
            z = spec[..., lo:hi]
            v = np.array(z, order="C").view(dtype)    # (n_w, n_ch, 2 K): re, im interleaved
            if hi == n_s // 2 + 1 and n_s % 2 == 0:
                v[..., -2:] *= np.sqrt(0.5)           # the Nyquist bin has no twin
            s = v @ v.transpose(0, 2, 1)
            s *= 2.0 / n_s
            out[b].append(s)
            # channel-normalised periodograms of the band for its participation ratio
            diag = np.einsum("wii->wi", s).astype(np.float64)
            ok = diag > 0
            p = (z.real.astype(np.float64) ** 2 + z.imag.astype(np.float64) ** 2)
            p = p[ok] / (diag[ok][:, None] * n_s / 2.0)
            power[b, lo:hi] += p.sum(axis=0)
            n_valid[b] += ok.sum()
    if out is None or not out[0]:
        raise ConfigError("no windows to compute band scatter matrices from")
    ratios = np.empty(len(bands))
    for b in range(len(bands)):
        if n_valid[b] == 0:
            raise ConfigError("cannot estimate the power spectrum: every channel is flat")
        ratios[b] = participation_ratio(power[b] / n_valid[b], n_s)
    scatter = np.stack([np.concatenate(o) for o in out])
    return BandScatter(scatter, tuple(bands), tuple(bands.values()), int(n_s),
                       int(n_s if step is None else step), sfreq, ratios)


def _window_chunks(inst, n_win, step, n_times):
    """Windows of a Raw or a 2-D array, a bounded chunk at a time (float64 slices)."""
    n_w = (n_times - n_win) // step + 1
    per = max(1, _CHUNK_ELEMENTS // max(1, n_win * _n_channels(inst)))
    for w0 in range(0, n_w, per):
        w1 = min(n_w, w0 + per)
        start, stop = w0 * step, (w1 - 1) * step + n_win
        if isinstance(inst, mne.io.BaseRaw):
            block = inst.get_data(start=start, stop=stop)
        else:
            block = np.asarray(inst[:, start:stop])
        view = np.lib.stride_tricks.sliding_window_view(block, n_win, axis=1)[:, ::step]
        yield view.transpose(1, 0, 2)


def _n_channels(inst):
    return len(inst.ch_names) if isinstance(inst, mne.io.BaseRaw) else np.shape(inst)[0]


def recording_band_scatter(recording, bands: Mapping, *, sfreq: float | None = None,
                           window: float | None = 2.0, overlap: float = 0.0,
                           dtype=np.float32, index: int = 0) -> BandScatter:
    """:func:`band_scatter` of a continuous recording, streamed window chunk by chunk.

    Parameters
    ----------
    recording : mne.io.BaseRaw | ndarray, shape (n_channels, n_times)
        All channels are used (pick EEG channels before).
    bands : mapping
        ``{name: (low_hz, high_hz) or None}``.
    sfreq : float, optional
        Required for arrays; taken from ``raw.info`` otherwise.
    window : float or None
        Window length in seconds; ``None``: one window spanning the recording.
    overlap : float
        Fraction of overlap of consecutive windows, in ``[0, 1)``.
    dtype : numpy dtype
    index : int
        Subject index named in errors.

    Returns
    -------
    BandScatter
    """
    if isinstance(recording, mne.io.BaseRaw):
        n_times, fs = recording.n_times, float(recording.info["sfreq"])
    else:
        if sfreq is None:
            raise ConfigError(f"subject {index}: sfreq is required for array recordings "
                              f"(n_channels, n_times); got sfreq=None")
        n_times, fs = np.shape(recording)[1], float(sfreq)
    win = n_times / fs if window is None else window
    n_win = int(round(win * fs))
    if n_win > n_times:
        raise ConfigError(f"subject {index}: window of {win} s ({n_win} samples) is longer "
                          f"than the recording ({n_times} samples)")
    step = n_win if window is None else max(1, int(round(n_win * (1 - overlap))))
    for name, edges in bands.items():
        if edges is not None and edges[1] >= fs / 2:
            raise ConfigError(f"band {name!r}: upper edge {edges[1]} Hz is not below the "
                              f"Nyquist frequency {fs / 2} Hz of data sampled at {fs} Hz")
    return band_scatter(_window_chunks(recording, n_win, step, n_times), bands, sfreq=fs,
                        step=step, dtype=dtype)
