"""Validation of the recordings the RMT transformers take, and band windowing."""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import mne
import numpy as np

from ..errors import ConfigError
from ..preprocessing import band_windows, check_bands
from .band_fft import BandScatter, recording_band_scatter, windows_scatter

__all__ = ["BROADBAND", "check_subjects", "check_dtype", "subject_band_windows",
           "subject_band_scatter", "shared_grid", "shared_band_scatter", "check_params_common"]

#: Band name given to already windowed input, which is used unfiltered.
BROADBAND = "broadband"


def check_subjects(X, name: str = "X") -> list:
    """Return ``X`` as a list of subjects, each a Raw, a 2-D or a 3-D array.

    ``X`` is a sequence (list, tuple or an ndarray iterated over its first axis) of
    ``mne.io.BaseRaw`` (continuous recording), arrays ``(n_channels, n_times)``
    (continuous, needs ``sfreq``) or arrays ``(n_windows, n_channels, n_samples)``
    (already windowed; used as one unfiltered band).
    """
    if isinstance(X, (mne.io.BaseRaw, str, bytes)) or not isinstance(X, (Sequence, np.ndarray)):
        raise ConfigError(
            f"{name} must be a sequence of subjects (a list of mne Raw objects or of "
            f"arrays), got {type(X).__name__}")
    if isinstance(X, np.ndarray) and X.ndim not in (3, 4):
        raise ConfigError(
            f"{name} as an array must be (n_subjects, n_channels, n_times) or "
            f"(n_subjects, n_windows, n_channels, n_samples), got shape {X.shape}")
    subjects = list(X)
    if not subjects:
        raise ConfigError(f"{name} is empty: expected at least one subject")
    for i, sub in enumerate(subjects):
        if isinstance(sub, (mne.io.BaseRaw, BandScatter)):
            continue
        arr = np.asarray(sub) if not isinstance(sub, np.ndarray) else sub
        if arr.ndim not in (2, 3) or not np.issubdtype(arr.dtype, np.number):
            raise ConfigError(
                f"subject {i}: expected an mne Raw, a numeric array (n_channels, n_times) "
                f"or (n_windows, n_channels, n_samples), got {type(sub).__name__} with "
                f"shape {getattr(arr, 'shape', None)}")
        if arr.shape[-2] < 2:
            raise ConfigError(f"subject {i}: need at least 2 channels, got shape {arr.shape}")
    return subjects


def check_dtype(dtype) -> np.dtype:
    """Float32 or float64 only: eigen-decompositions need a LAPACK real type."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ConfigError(f"dtype must be 'float32' or 'float64', got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ConfigError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return dt


def check_params_common(est) -> dict:
    """Validate the windowing parameters shared by the recording-level transformers."""
    bands = check_bands(est.bands)
    if est.sfreq is not None and not (np.isfinite(est.sfreq) and est.sfreq > 0):
        raise ConfigError(f"sfreq must be a positive number of Hz or None, got {est.sfreq!r}")
    if est.window is not None and not (np.isfinite(est.window) and est.window > 0):
        raise ConfigError(f"window must be a positive duration in seconds, got {est.window!r}")
    if not 0 <= est.overlap < 1:
        raise ConfigError(f"overlap must be in [0, 1), got {est.overlap!r}")
    return bands


def subject_band_windows(subject, index: int, *, bands: Mapping, sfreq: float | None,
                         window: float | None, overlap: float, dtype,
                         n_jobs: int = 1) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(band, windows)`` for one subject, one band at a time.

    ``window=None`` gives a single window spanning the whole recording.
    """
    if isinstance(subject, mne.io.BaseRaw) or np.ndim(subject) == 2:
        if not isinstance(subject, mne.io.BaseRaw):
            if sfreq is None:
                raise ConfigError(f"subject {index}: sfreq is required for array recordings "
                                  f"(n_channels, n_times); got sfreq=None")
            n_times = np.shape(subject)[1]
            fs = float(sfreq)
        else:
            n_times, fs = subject.n_times, subject.info["sfreq"]
        win = n_times / fs if window is None else window
        if int(round(win * fs)) > n_times:
            raise ConfigError(f"subject {index}: window of {win} s ({int(round(win * fs))} "
                              f"samples) is longer than the recording ({n_times} samples)")
        yield from band_windows(subject, bands, sfreq=fs, window=win,
                                overlap=0.0 if window is None else overlap,
                                dtype=dtype, n_jobs=n_jobs)
    else:
        windows = np.asarray(subject)
        if windows.shape[0] < 1:
            raise ConfigError(f"subject {index}: no windows (shape {windows.shape})")
        yield BROADBAND, windows.astype(dtype, copy=False)


def subject_band_scatter(subject, index: int, *, bands: Mapping, sfreq: float | None,
                         window: float | None, overlap: float, dtype):
    """The :class:`~neurodx.rmt.band_fft.BandScatter` of one subject.

    A subject that already is a ``BandScatter`` (computed once per recording and
    shared between steps, see ``neurodx.evaluation.compare``) is used as it is when
    its bands and window match and its grid is as fine as asked (every ``k``-th of
    its windows is taken); a recording is transformed; an already windowed array is
    one unfiltered band.
    """
    if isinstance(subject, BandScatter):
        return _reuse_band_scatter(subject, index, bands=bands, window=window,
                                   overlap=overlap, dtype=dtype)
    if isinstance(subject, mne.io.BaseRaw) or np.ndim(subject) == 2:
        return recording_band_scatter(subject, bands, sfreq=sfreq, window=window,
                                      overlap=overlap, dtype=dtype, index=index)
    windows = np.asarray(subject)
    if windows.shape[0] < 1:
        raise ConfigError(f"subject {index}: no windows (shape {windows.shape})")
    return windows_scatter(windows, dtype=dtype)


def shared_grid(bs_window, bs_step, sfreq, window, overlap):
    """``k`` such that every ``k``-th window of a grid ``(bs_window, bs_step)`` samples is
    the grid asked by ``window`` s and ``overlap``; ``None`` when there is none."""
    if window is None or sfreq is None:
        return None
    n_win = int(round(window * sfreq))
    step = max(1, int(round(n_win * (1 - overlap))))
    if n_win != bs_window or step % bs_step:
        return None
    return step // bs_step


def _reuse_band_scatter(bs, index, *, bands, window, overlap, dtype):
    k = shared_grid(bs.n_samples, bs.step, bs.sfreq, window, overlap)
    if (k is None or tuple(bands) != bs.bands or tuple(bands.values()) != bs.band_edges
            or bs.scatter.dtype != np.dtype(dtype)):
        raise ConfigError(f"subject {index}: the shared band matrices were computed for "
                          f"bands {dict(zip(bs.bands, bs.band_edges))}, {bs.n_samples}-sample "
                          f"windows every {bs.step} samples ({bs.scatter.dtype}); this step "
                          f"needs bands {dict(bands)}, window {window} s, overlap {overlap} "
                          f"({np.dtype(dtype)})")
    return bs.every(k)


def shared_band_scatter(recording, steps, index: int = 0):
    """One band representation of a recording for every step that can use it.

    ``steps`` are transformers (``None`` allowed); those with
    ``_consumes_band_scatter`` (window spectra, cleaned band covariances) can take a
    :class:`~neurodx.rmt.band_fft.BandScatter` instead of the recording. When at
    least two of them ask for the same bands, window length and precision on nested
    grids (e.g. 50 % and no overlap), the recording is transformed once, on the
    finest grid.

    Returns
    -------
    band_scatter : BandScatter or None
        ``None`` when fewer than two steps could share it (or ``recording`` is not a
        continuous recording).
    usable : list of bool
        Per step, whether it can take ``band_scatter``.
    """
    usable = [False] * len(steps)
    if not (isinstance(recording, mne.io.BaseRaw) or
            (isinstance(recording, np.ndarray) and recording.ndim == 2)):
        return None, usable
    params = []
    for step in steps:
        if step is None or not getattr(step, "_consumes_band_scatter", False) \
                or step.window is None:
            params.append(None)
            continue
        fs = (recording.info["sfreq"] if isinstance(recording, mne.io.BaseRaw)
              else step.sfreq)
        if fs is None:
            params.append(None)
            continue
        n_win = int(round(step.window * fs))
        params.append({"bands": check_bands(step.bands), "fs": float(fs), "n_win": n_win,
                       "step": max(1, int(round(n_win * (1 - step.overlap)))),
                       "dtype": check_dtype(step.dtype), "window": step.window,
                       "overlap": step.overlap})
    candidates = sorted((p["step"], i) for i, p in enumerate(params) if p is not None)
    for _, base in candidates:
        b = params[base]
        ok = [p is not None and p["bands"] == b["bands"] and p["dtype"] == b["dtype"]
              and shared_grid(b["n_win"], b["step"], b["fs"], p["window"], p["overlap"])
              is not None for p in params]
        if sum(ok) >= 2:
            bs = recording_band_scatter(recording, b["bands"], sfreq=b["fs"],
                                        window=b["window"], overlap=b["overlap"],
                                        dtype=b["dtype"], index=index)
            return bs, ok
    return None, usable
