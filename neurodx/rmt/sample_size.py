"""Effective samples per window: the spectral participation ratio of a window stack.

Windows of a band-passed signal hold fewer independent samples than time points;
the Marchenko-Pastur reference of the spectra is set by ``T_eff`` (see
:mod:`neurodx.rmt.spectra`). Kept apart from :mod:`~neurodx.rmt.spectra` and
:mod:`~neurodx.rmt.band_fft`, which both use it, so neither imports the other back.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError

__all__ = ["participation_ratio", "band_power_spectrum", "effective_sample_size",
           "check_windows"]


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


def check_windows(windows):
    """``windows`` as an array ``(n_windows, n_channels, n_samples)``, or a ConfigError."""
    if not hasattr(windows, "ndim"):
        windows = np.asarray(windows)
    if windows.ndim != 3:
        raise ConfigError(f"windows must be (n_windows, n_channels, n_samples), "
                          f"got shape {windows.shape}")
    if windows.shape[0] < 1 or windows.shape[1] < 2 or windows.shape[2] < 2:
        raise ConfigError(f"need at least 1 window, 2 channels and 2 samples per window, "
                          f"got shape {windows.shape}")
    return windows


def band_power_spectrum(windows, *, max_windows: int = 64) -> np.ndarray:
    """Average temporal power spectrum of a window stack, channels weighted equally.

    Each channel of each window is demeaned and scaled to unit variance, and the
    periodograms are averaged over windows and channels.

    Parameters
    ----------
    windows : ndarray, shape (n_windows, n_channels, n_samples)
    max_windows : int
        At most this many windows, evenly spread, enter the average.

    Returns
    -------
    power : ndarray, shape (n_samples // 2 + 1,)
        On the ``rfft`` grid, scaled so that its mean over the full DFT grid is 1
        (white noise: ~1 at every non-zero frequency).
    """
    windows = check_windows(windows)
    n_w, _, n_s = windows.shape
    idx = np.unique(np.linspace(0, n_w - 1, min(n_w, max_windows)).round().astype(int))
    x = np.asarray(windows[idx], dtype=np.float64)
    x = x - x.mean(axis=-1, keepdims=True)
    sd = x.std(axis=-1, keepdims=True)
    valid = sd[..., 0] > 0
    if not valid.any():
        raise ConfigError("cannot estimate the power spectrum: every channel is flat")
    x = x / np.where(sd > 0, sd, 1.0)
    power = (np.abs(np.fft.rfft(x, axis=-1)) ** 2)[valid].mean(axis=0)
    return power / (np.sum(_rfft_weights(n_s) * power) / n_s)


def effective_sample_size(windows, *, max_windows: int = 64) -> float:
    """Effective number of independent samples per window (spectral participation ratio).

    ``T_eff = (sum_k P_k)^2 / sum_k P_k^2`` over the full DFT grid of the window, where
    ``P`` is :func:`band_power_spectrum` (see the module docstring). It equals
    ``T - 1`` for white noise and about ``2 * bandwidth * duration`` for a band-passed
    signal. The estimate's relative bias is ~1 / (windows x channels averaged),
    negligible already at 64 x 8.

    Parameters
    ----------
    windows : ndarray, shape (n_windows, n_channels, n_samples)
    max_windows : int
        At most this many windows, evenly spread, enter the average.

    Returns
    -------
    t_eff : float
        Between 1 and ``n_samples - 1``.
    """
    windows = check_windows(windows)
    return participation_ratio(band_power_spectrum(windows, max_windows=max_windows),
                               windows.shape[-1])
