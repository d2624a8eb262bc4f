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

__all__ = ["window_starts", "sliding_windows", "band_windows", "annotation_onsets"]


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
    if isinstance(inst, mne.io.BaseRaw):
        sfreq = inst.info["sfreq"]
        data = inst.get_data()
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
            yield name, sliding_windows(filtered, n_win, step)
        else:
            starts = np.asarray(onsets, dtype=np.int64) + int(round(tmin * sfreq))
            starts = starts[(starts >= 0) & (starts + n_win <= filtered.shape[1])]
            idx = starts[:, None] + np.arange(n_win)[None, :]
            yield name, filtered[:, idx].transpose(1, 0, 2)
        del filtered
