"""Cutting continuous signals into windows, per frequency band.

Windows are strided *views* of one filtered copy of the recording, so a 50 %
overlap costs no memory; only one band is held at a time. This is why we do not
use :func:`mne.make_fixed_length_epochs`, which copies every (overlapping) epoch.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import mne
import numpy as np

from ..errors import ConfigError
from .bands import check_bands

__all__ = ["window_starts", "sliding_windows", "band_windows", "annotation_onsets", "bad_spans",
           "clean_window_mask"]


def window_starts(n_times: int, window: int, step: int) -> np.ndarray:
    """Start samples of the windows ``[s, s + window)`` that fit in ``n_times`` samples."""
    if window < 2:
        raise ConfigError(f"window must be at least 2 samples, got {window}")
    if step < 1:
        raise ConfigError(f"window step must be at least 1 sample, got {step}")
    if n_times < window:
        return np.empty(0, dtype=np.int64)
    return np.arange(0, n_times - window + 1, step, dtype=np.int64)


def sliding_windows(data: np.ndarray, window: int, step: int) -> np.ndarray:
    """Windows of a ``(n_channels, n_times)`` array as a read-only view.

    Returns
    -------
    windows : ndarray, shape (n_windows, n_channels, window)
        Overlapping windows share memory with ``data``.
    """
    data = np.asarray(data)
    if data.ndim != 2:
        raise ValueError(f"data must be (n_channels, n_times), got shape {data.shape}")
    starts = window_starts(data.shape[1], window, step)
    if starts.size == 0:
        return np.empty((0, data.shape[0], window), dtype=data.dtype)
    view = np.lib.stride_tricks.sliding_window_view(data, window, axis=1)
    return view[:, ::step, :].transpose(1, 0, 2)


def annotation_onsets(raw: mne.io.BaseRaw, event_id: Mapping[str, int] | None = None
                      ) -> np.ndarray:
    """Onset samples (relative to the first sample) of the recording's annotated events.

    Events come from the recording's own annotations: EDF+ annotations, BrainVision
    markers, or a BIDS ``events.tsv`` (attached when the file is read).
    """
    events, _ = mne.events_from_annotations(raw, event_id=event_id, verbose="ERROR")
    return events[:, 0] - raw.first_samp


def bad_spans(raw: mne.io.BaseRaw) -> np.ndarray:
    """Sample spans ``[start, stop)`` of the recording's ``BAD_`` annotations.

    MNE's convention: an annotation whose description starts with "bad" (any
    case: ``BAD_``, ``bad_acq_skip``, ``BAD boundary``) marks data not to use.
    Samples count from the recording's first sample. A zero-length span (a
    boundary between concatenated runs) marks the point between two samples.

    Returns
    -------
    spans : ndarray of int, shape (n_spans, 2)
    """
    ann = raw.annotations
    bad = np.array([d.lower().startswith("bad") for d in ann.description], dtype=bool)
    if not bad.any():
        return np.empty((0, 2), dtype=np.int64)
    # Attached annotations count seconds from the acquisition start (meas_date, or
    # sample 0 without one), the data from first_samp: shift as MNE's own rejection does.
    onsets = np.asarray(ann.onset)[bad] - raw.first_time
    ends = onsets + np.asarray(ann.duration)[bad]
    start = raw.time_as_index(onsets, use_rounding=True)
    stop = raw.time_as_index(ends, use_rounding=True)
    return np.stack([start, stop], axis=1).astype(np.int64)


def clean_window_mask(starts: np.ndarray, window: int, spans: np.ndarray) -> np.ndarray:
    """Which windows ``[s, s + window)`` touch no span of :func:`bad_spans`.

    A window is dropped when it shares a sample with a BAD span, or straddles a
    zero-length one (a run boundary).
    """
    starts = np.asarray(starts, dtype=np.int64)
    keep = np.ones(starts.shape, dtype=bool)
    for lo, hi in np.asarray(spans, dtype=np.int64).reshape(-1, 2):
        keep &= ~((starts < hi) & (starts + window > lo)) if hi > lo else \
            ~((starts < lo) & (starts + window > lo))
    return keep


def band_windows(inst, bands: Mapping | None = None, *, sfreq: float | None = None,
                 window: float = 2.0, overlap: float = 0.5, onsets: np.ndarray | None = None,
                 tmin: float = 0.0, dtype=np.float32, n_jobs: int = 1
                 ) -> Iterator[tuple[str, np.ndarray]]:
    """Filter a recording band by band and cut each band into windows.

    Parameters
    ----------
    inst : mne.io.BaseRaw | ndarray, shape (n_channels, n_times)
        The recording (all channels are used: pick EEG channels before).
    bands : mapping, optional
        ``{name: (low_hz, high_hz) or None}``; default :data:`DEFAULT_BANDS`.
        ``None`` edges yield the unfiltered signal.
    sfreq : float
        Sampling rate; required for arrays, taken from ``raw.info`` otherwise.
    window : float
        Window length in seconds.
    overlap : float
        Fraction of overlap between consecutive fixed windows, in ``[0, 1)``.
    onsets : array of int, optional
        Event onset samples (see :func:`annotation_onsets`). When given, one window
        starts at each ``onset + tmin * sfreq`` (trial-based data) instead of a
        fixed grid; events whose window falls outside the recording are skipped.

    Windows of a Raw touching a ``BAD_`` annotated span (:func:`bad_spans`) are
    dropped, as :func:`mne.make_fixed_length_epochs` with ``reject_by_annotation``
    would; the remaining windows are then copies, not views.
    dtype : numpy dtype
        Dtype of the yielded windows; float32 halves memory and is exact enough
        for correlation spectra (relative error ~1e-6).
    n_jobs : int
        Passed to MNE's filter.

    Yields
    ------
    band : str
    windows : ndarray, shape (n_windows, n_channels, n_window_samples)
    """
    spans = np.empty((0, 2), dtype=np.int64)
    if isinstance(inst, mne.io.BaseRaw):
        sfreq = inst.info["sfreq"]
        data = inst.get_data()
        spans = bad_spans(inst)
    else:
        if sfreq is None:
            raise ConfigError("sfreq is required when windowing a plain array")
        data = np.asarray(inst, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"expected (n_channels, n_times) data, got shape {data.shape}")
    if not 0 <= overlap < 1:
        raise ConfigError(f"overlap must be in [0, 1), got {overlap}")
    bands = check_bands(bands, sfreq)
    n_win = int(round(window * sfreq))
    step = max(1, int(round(n_win * (1 - overlap))))
    for name, edges in bands.items():
        if edges is None:
            filtered = data.astype(dtype, copy=False)
        else:
            filtered = mne.filter.filter_data(data, sfreq, edges[0], edges[1], n_jobs=n_jobs,
                                              verbose="ERROR").astype(dtype, copy=False)
        if onsets is None:
            windows = sliding_windows(filtered, n_win, step)
            if len(spans):
                starts = window_starts(filtered.shape[1], n_win, step)
                windows = windows[clean_window_mask(starts, n_win, spans)]
            yield name, windows
        else:
            starts = np.asarray(onsets, dtype=np.int64) + int(round(tmin * sfreq))
            starts = starts[(starts >= 0) & (starts + n_win <= filtered.shape[1])]
            starts = starts[clean_window_mask(starts, n_win, spans)]
            idx = starts[:, None] + np.arange(n_win)[None, :]
            yield name, filtered[:, idx].transpose(1, 0, 2)
        del filtered
