"""Band signals of a recording from one FFT, at a rate fitted to each band.

The one band representation of a recording shared by the RMT steps (window
spectra, cleaned band covariances, LES): for every band and every window the
scatter matrix ``S = sum_t x_b(t) x_b(t)^T`` of the window's demeaned band signal,
and the band's effective number of samples per window.

How, and why it gives the same band signals
-------------------------------------------
Before, the recording was filtered once per band with MNE's FIR filter at its own
rate (1000 Hz for EEG bands ending at 45 Hz), twice per route pair, and every
window product ran over all 2000 samples. Now:

1. the recording is transformed once (``rfft`` of each channel over the whole
   recording, float32 by default, a block of channels at a time);
2. per band, the spectrum is multiplied by the frequency response of *the same*
   zero-phase FIR filter MNE designs for that band
   (:func:`mne.filter.create_filter`, firwin / hamming, automatic lengths), the
   recording padded first as MNE pads it (odd reflection), so that the product is
   MNE's filter on every recorded sample;
3. only the bins below a band-fitted Nyquist frequency are transformed back
   (frequency-domain decimation by an integer ``q`` dividing the window and its
   step): the band signal comes out sampled every ``q``-th sample, exactly, since
   the filter leaves nothing (< -50 dB) above that Nyquist frequency; the rate is
   kept high enough that a window still has at least 200 samples;
4. windows are strided views of the decimated band signal; their scatter matrices
   are products over ``T / q`` samples.

A window's sample covariance ``S / (T_b - 1)`` (``T_b = T / q`` samples) estimates
the same band covariance as before; correlations, spectra and ``T_eff``
(:func:`neurodx.rmt.effective_sample_size`, the spectral participation ratio,
invariant to the decimation of a band-limited signal) agree with the FIR route up
to the decimation's rectangle rule and float32 rounding (tests state the tolerance);
without decimation (a window of fewer than 400 samples, e.g. 2 s at 128 Hz) they
are MNE's to rounding.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real

import math

import mne
import numpy as np
import scipy.fft

from ..errors import ConfigError
from ..preprocessing.windows import bad_spans, clean_window_mask
from .sample_size import effective_sample_size, participation_ratio

__all__ = ["BandScatter", "windows_scatter", "participation_ratio", "recording_band_scatter"]

# The recording is transformed a block of channels at a time and windows are
# multiplied a chunk at a time, each of about this many samples.
_CHUNK_ELEMENTS = 2 ** 22
# The recording's spectrum is computed a block of channels of about this many samples
# at a time (the block and its transform are the step's temporaries).
_SPECTRUM_BLOCK_ELEMENTS = 2 ** 20
# |H| below this (-50 dB, the hamming FIR's stopband) counts as stopped.
_STOPBAND = 10 ** (-50 / 20)
# A decimated window keeps at least this many samples: a window's scatter over T / q
# samples differs from the one over T by ~q / T (edge terms of the sum): window
# correlations within ~0.03 at 200 samples (tests/rmt/test_band_scatter.py).
_MIN_WINDOW_SAMPLES = 200


@dataclass(frozen=True, eq=False)
class BandScatter:
    """Band-limited window scatter matrices of one recording, all bands.

    Attributes
    ----------
    scatter : ndarray, shape (n_bands, n_windows, n_channels, n_channels)
        ``sum_t x_b(t) x_b(t)^T`` of each window's demeaned band signal.
    band_samples : ndarray of int, shape (n_bands,)
        Samples per window of each band signal (``n_samples / q``, after the
        band's decimation): ``scatter / (band_samples - 1)`` is a window's covariance.
    bands : tuple of str
    band_edges : tuple
        ``(low, high)`` in Hz per band, ``None`` for an unfiltered band.
    n_samples : int
        Samples per window ``T`` at the recording's rate.
    step : int
        Samples between consecutive window starts, at the recording's rate.
    sfreq : float or None
    power_ratio : ndarray, shape (n_bands,)
        Spectral participation ratio ``T_eff`` of each band (per window).
    starts : ndarray of int, shape (n_windows,)
        First sample of each window (windows touching a ``BAD_`` annotation are
        left out, so the grid may have gaps).
    """

    scatter: np.ndarray
    band_samples: np.ndarray
    bands: tuple
    band_edges: tuple
    n_samples: int
    step: int
    sfreq: float | None
    power_ratio: np.ndarray
    starts: np.ndarray

    @property
    def n_windows(self) -> int:
        return self.scatter.shape[1]

    def every(self, k: int) -> BandScatter:
        """The same recording on a grid ``k`` times coarser (every ``k``-th window)."""
        if k == 1:
            return self
        sel = self.starts % (self.step * k) == 0
        return BandScatter(self.scatter[:, sel], self.band_samples, self.bands,
                           self.band_edges, self.n_samples, self.step * k, self.sfreq,
                           self.power_ratio, self.starts[sel])

    def covariances(self, b: int) -> np.ndarray:
        """Sample covariance of every window of band ``b``, in the scatter's dtype."""
        return self.scatter[b] / (int(self.band_samples[b]) - 1)

    def pooled_covariance(self, b: int) -> np.ndarray:
        """Pooled sample covariance of band ``b`` over all windows, float64."""
        return (self.scatter[b].sum(axis=0, dtype=np.float64)
                / (self.n_windows * (int(self.band_samples[b]) - 1)))

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


def _window_scatter(windows, dtype):
    """Demeaned scatter ``X X^T`` of every window, a bounded chunk at a time."""
    n_w, n_ch, n_s = windows.shape
    out = np.empty((n_w, n_ch, n_ch), dtype=dtype)
    per = max(1, _CHUNK_ELEMENTS // max(1, n_ch * n_s))
    for w0 in range(0, n_w, per):
        x = windows[w0:w0 + per].astype(dtype, copy=True)
        x -= x.mean(axis=-1, keepdims=True)
        np.matmul(x, x.transpose(0, 2, 1), out=out[w0:w0 + per])
    return out


def windows_scatter(windows, *, dtype=np.float32) -> BandScatter:
    """:class:`BandScatter` of already windowed data: one unfiltered band.

    Parameters
    ----------
    windows : ndarray, shape (n_windows, n_channels, n_samples)
        Taken as non-overlapping.
    dtype : numpy dtype

    Returns
    -------
    BandScatter
        One band ``"broadband"``.
    """
    windows = np.asarray(windows)
    n_s = windows.shape[-1]
    return BandScatter(_window_scatter(windows, np.dtype(dtype))[None], np.array([n_s]),
                       ("broadband",), (None,), int(n_s), int(n_s), None,
                       np.array([effective_sample_size(windows)]),
                       np.arange(windows.shape[0]) * n_s)


def _recording_spectrum(recording, pad, n_fft, dtype, n_bins):
    """The first ``n_bins`` bins of the ``rfft`` of every channel, padded as MNE pads
    before filtering, a block of channels at a time.

    ``pad`` samples before and ``n_fft - n_times - pad`` after, each an odd reflection
    about the end sample (MNE's ``pad="reflect_limited"``), so the circular
    convolution of the spectrum product is MNE's linear one on every recorded sample.
    """
    is_raw = isinstance(recording, mne.io.BaseRaw)
    n_ch = len(recording.ch_names) if is_raw else np.shape(recording)[0]
    n_times = recording.n_times if is_raw else np.shape(recording)[1]
    right = n_fft - n_times - pad
    spec = np.empty((n_ch, n_bins), dtype=np.result_type(dtype, np.complex64))
    per = max(1, _SPECTRUM_BLOCK_ELEMENTS // max(1, n_fft))
    # One padded block in the working precision, filled a channel at a time: a float64
    # copy of a whole block beside it would be most of the step's peak memory.
    block = np.empty((min(per, n_ch), n_fft), dtype=dtype)
    for c0 in range(0, n_ch, per):
        c1 = min(n_ch, c0 + per)
        for row, c in zip(block, range(c0, c1)):
            x = (recording.get_data(picks=[c])[0] if is_raw
                 else np.asarray(recording[c], dtype=np.float64))
            row[:pad] = 2 * x[0] - x[pad:0:-1]
            row[pad:pad + n_times] = x
            row[pad + n_times:] = 2 * x[-1] - x[-2:-right - 2:-1]
        spec[c0:c1] = scipy.fft.rfft(block[:c1 - c0], axis=-1)[:, :n_bins]
    return spec


def _fir_response(h, n_fft):
    """Real (zero-phase) frequency response of a centred FIR on an ``n_fft``-point grid."""
    centre = h.size // 2
    padded = np.zeros(n_fft)
    padded[:h.size - centre] = h[centre:]       # circular shift: zero phase at sample 0
    padded[n_fft - centre:] = h[:centre]
    return scipy.fft.rfft(padded).real


def _decimation(response, sfreq, n_fft, grid, n_win):
    """Largest ``q`` dividing ``grid`` that keeps the band (|H| > -50 dB) below the new
    Nyquist frequency and at least ``_MIN_WINDOW_SAMPLES`` samples per window."""
    passed = np.flatnonzero(np.abs(response) > _STOPBAND)
    f_top = (passed[-1] if passed.size else 0) * sfreq / n_fft
    best = 1
    for q in range(1, min(grid, n_win // _MIN_WINDOW_SAMPLES) + 1):
        if grid % q == 0 and sfreq / (2 * q) > f_top:
            best = q
    return best


def recording_band_scatter(recording, bands: Mapping, *, sfreq: float | None = None,
                           window: float | None = 2.0, overlap: float = 0.0,
                           dtype=np.float32, index: int = 0) -> BandScatter:
    """Band scatter matrices of a continuous recording from one FFT (see the module notes).

    Parameters
    ----------
    recording : mne.io.BaseRaw | ndarray, shape (n_channels, n_times)
        All channels are used (pick EEG channels before).
    bands : mapping
        ``{name: (low_hz, high_hz) or None}``; ``None``: the unfiltered signal.
    sfreq : float, optional
        Required for arrays; taken from ``raw.info`` otherwise.
    window : float or None
        Window length in seconds; ``None``: one window spanning the recording.
    overlap : float
        Fraction of overlap of consecutive windows, in ``[0, 1)``.
    dtype : numpy dtype
        Working precision of the FFT and the products.
    index : int
        Subject index named in errors.

    Returns
    -------
    BandScatter
    """
    is_raw = isinstance(recording, mne.io.BaseRaw)
    if is_raw:
        n_times, fs = recording.n_times, float(recording.info["sfreq"])
    else:
        if sfreq is None:
            raise ConfigError(f"subject {index}: sfreq is required for array recordings "
                              f"(n_channels, n_times); got sfreq=None")
        n_times, fs = np.shape(recording)[1], float(sfreq)
    n_ch = len(recording.ch_names) if is_raw else np.shape(recording)[0]
    dtype = np.dtype(dtype)
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
    grid = math.gcd(n_win, step)
    n_w = (n_times - n_win) // step + 1
    starts = np.arange(n_w, dtype=np.int64) * step
    # windows touching a BAD_ annotation are left out, as band_windows does
    keep = (clean_window_mask(starts, n_win, bad_spans(recording)) if is_raw
            else np.ones(n_w, dtype=bool))
    if not keep.any():
        raise ConfigError(f"subject {index}: every {win}-s window touches a BAD_ annotation; "
                          f"no clean data to compute features from")
    firs = {name: mne.filter.create_filter(None, fs, edges[0], edges[1], verbose="ERROR")
            for name, edges in bands.items() if edges is not None}
    if firs:
        half = max(h.size for h in firs.values()) // 2
        # padding: a multiple of the grid, so that each band's samples k * q fall on
        # recorded samples, and at least half the longest filter at both ends
        pad = -(-half // grid) * grid
        n_fft = pad + n_times + pad + (-(n_times + 2 * pad)) % grid
        if n_fft - n_times - pad >= n_times:
            raise ConfigError(f"subject {index}: the band filters (up to "
                              f"{max(h.size for h in firs.values())} samples) are longer than "
                              f"the recording ({n_times} samples); use longer recordings or "
                              f"bands with a higher low edge")
        # each band's response and decimation first: only the bins below the highest
        # band-fitted Nyquist frequency are kept (at 1000 Hz, bands ending at 45 Hz use
        # about a ninth of the spectrum; the whole one was most of the peak memory)
        plans = {}
        for name, h in firs.items():
            response = _fir_response(h, n_fft)
            q = _decimation(response, fs, n_fft, grid, n_win)
            plans[name] = (response, q, n_fft // q // 2 + 1)
        spec = _recording_spectrum(recording, pad, n_fft, dtype,
                                   max(n_keep for _, _, n_keep in plans.values()))
    scatter, samples, ratios = [], [], []
    for name, edges in bands.items():
        if edges is None:
            band, q = (recording.get_data() if is_raw else np.asarray(recording)), 1
        else:
            response, q, n_keep = plans[name]
            kept = spec[:, :n_keep] * response[:n_keep].astype(dtype)
            kept[:, -1] = 0                  # the new Nyquist bin: nothing passes there
            band = scipy.fft.irfft(kept, n=n_fft // q, axis=-1)[:, pad // q:]
            band /= q
            del kept
        windows = np.lib.stride_tricks.sliding_window_view(
            band, n_win // q, axis=1)[:, ::step // q][:, :n_w].transpose(1, 0, 2)
        if not keep.all():
            windows = windows[keep]
        scatter.append(_window_scatter(windows, dtype))
        samples.append(n_win // q)
        ratios.append(effective_sample_size(windows))
        del band, windows
    return BandScatter(np.stack(scatter), np.asarray(samples), tuple(bands),
                       tuple(bands.values()), int(n_win), int(step), fs, np.asarray(ratios),
                       starts[keep])
