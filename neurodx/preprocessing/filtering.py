"""Re-referencing, notch, band-pass and resampling, all done by MNE."""
from __future__ import annotations

from collections.abc import Sequence

import mne
import numpy as np

__all__ = ["preprocess_raw"]

# Channels per call of MNE's FIR filters. MNE collects every filtered channel before
# writing them back, a second copy of the recording at the peak of memory (measured
# on a 64 x 300,000 recording: +128 MB at once, +18 MB in blocks of 16); the blocks
# give the same samples bit for bit (tested).
_FILTER_BLOCK = 16


def _channel_blocks(raw: mne.io.BaseRaw) -> list[np.ndarray]:
    """The data channels MNE's ``filter`` and ``notch_filter`` take by default, in blocks."""
    picks = mne.pick_types(raw.info, meg=True, eeg=True, seeg=True, ecog=True, dbs=True,
                           fnirs=True, csd=True, exclude=[])
    return [picks[i:i + _FILTER_BLOCK] for i in range(0, len(picks), _FILTER_BLOCK)]


def _average_reference(raw: mne.io.BaseRaw) -> None:
    """``raw.set_eeg_reference("average", projection=False)`` in place, without a copy.

    MNE subtracts the mean with fancy indexing (``data[picks] -= mean``), which copies
    every EEG channel (the recording's size again at the peak of memory) and takes
    0.35 s on 64 x 300,000 samples; channel by channel it takes 0.02 s. The mean is
    over the good EEG channels and is subtracted from them, as MNE does; MNE keeps the
    bookkeeping (``set_eeg_reference([])`` drops average-reference projectors and marks
    the custom reference). Recordings without EEG channels (sEEG, ECoG) go to MNE.
    """
    picks = mne.pick_types(raw.info, eeg=True, exclude="bads")
    if len(picks) == 0:
        raw.set_eeg_reference("average", projection=False, verbose="ERROR")
        return
    raw.set_eeg_reference([], projection=False, verbose="ERROR")
    mean = np.zeros(raw.n_times)
    for p in picks:
        mean += raw.get_data(picks=[p])[0]
    mean /= len(picks)
    raw.apply_function(lambda x: x - mean, picks=picks, channel_wise=True, n_jobs=None)


def _band_pass(raw: mne.io.BaseRaw, l_freq, h_freq, n_jobs) -> None:
    """``raw.filter(l_freq, h_freq)`` on the data channels, a block at a time (see
    ``_FILTER_BLOCK``); ``info["highpass"]``/``["lowpass"]`` updated by MNE's rule,
    which MNE applies only when one call filters every data channel."""
    blocks = _channel_blocks(raw)
    for picks in blocks:
        raw.filter(l_freq, h_freq, picks=picks, n_jobs=n_jobs, verbose="ERROR")
    if not blocks:
        return
    info = raw.info
    with info._unlock():   # the rule of mne.filter._filt_update_info
        if h_freq is not None and (l_freq is None or l_freq < h_freq) and \
                (info["lowpass"] is None or h_freq < info["lowpass"]):
            info["lowpass"] = float(h_freq)
        if l_freq is not None and (h_freq is None or l_freq < h_freq) and \
                (info["highpass"] is None or l_freq > info["highpass"]):
            info["highpass"] = float(l_freq)


def preprocess_raw(raw: mne.io.BaseRaw, *, reference: str | Sequence[str] | None = "average",
                   l_freq: float | None = None, h_freq: float | None = None,
                   notch: float | Sequence[float] | None = None, sfreq: float | None = None,
                   n_jobs: int = 1, copy: bool = True) -> mne.io.BaseRaw:
    """Return a preprocessed copy of ``raw`` (the input is left untouched).

    ``copy=False`` works on ``raw`` itself (loading its data if needed) and returns
    it: for a recording just read and used only preprocessed, this saves a second
    float64 copy of the whole recording at the peak of memory (and the steps below
    make none either).

    Steps, in order: re-reference (``"average"``, a list of channel names, or ``None``
    to keep the recording's reference), notch at ``notch`` Hz and its harmonics below
    Nyquist, band-pass ``l_freq``..``h_freq`` (MNE's default FIR), resample to ``sfreq``.
    The results are MNE's ``set_eeg_reference``, ``notch_filter``, ``filter`` and
    ``resample`` (tested equal).
    """
    out = (raw.copy() if copy else raw).load_data(verbose="ERROR")
    if reference == "average":
        _average_reference(out)
    elif reference is not None:
        ref = reference if isinstance(reference, str) else list(reference)
        out.set_eeg_reference(ref, projection=False, verbose="ERROR")
    if notch is not None:
        base = [notch] if isinstance(notch, (int, float)) else list(notch)
        nyq = out.info["sfreq"] / 2
        freqs = sorted({f * k for f in base for k in range(1, int(nyq // f) + 1) if f * k < nyq})
        if freqs:
            for picks in _channel_blocks(out):
                out.notch_filter(freqs, picks=picks, n_jobs=n_jobs, verbose="ERROR")
    if l_freq is not None or h_freq is not None:
        _band_pass(out, l_freq, h_freq, n_jobs)
    if sfreq is not None and sfreq != out.info["sfreq"]:
        out.resample(sfreq, n_jobs=n_jobs, verbose="ERROR")
    return out
