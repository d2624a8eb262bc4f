"""Re-referencing, notch, band-pass and resampling, all done by MNE."""
from __future__ import annotations

from collections.abc import Sequence

import mne

__all__ = ["preprocess_raw"]


def preprocess_raw(raw: mne.io.BaseRaw, *, reference: str | Sequence[str] | None = "average",
                   l_freq: float | None = None, h_freq: float | None = None,
                   notch: float | Sequence[float] | None = None, sfreq: float | None = None,
                   n_jobs: int = 1, copy: bool = True) -> mne.io.BaseRaw:
    """Return a preprocessed copy of ``raw`` (the input is left untouched).

    ``copy=False`` works on ``raw`` itself (loading its data if needed) and returns
    it: for a recording just read and used only preprocessed, this saves a second
    float64 copy of the whole recording at the peak of memory.

    Steps, in order: re-reference (``"average"``, a list of channel names, or ``None``
    to keep the recording's reference), notch at ``notch`` Hz and its harmonics below
    Nyquist, band-pass ``l_freq``..``h_freq`` (MNE's default FIR), resample to ``sfreq``.
    """
    out = (raw.copy() if copy else raw).load_data(verbose="ERROR")
    if reference is not None:
        ref = reference if isinstance(reference, str) else list(reference)
        out.set_eeg_reference(ref, projection=False, verbose="ERROR")
    if notch is not None:
        base = [notch] if isinstance(notch, (int, float)) else list(notch)
        nyq = out.info["sfreq"] / 2
        freqs = sorted({f * k for f in base for k in range(1, int(nyq // f) + 1) if f * k < nyq})
        if freqs:
            out.notch_filter(freqs, n_jobs=n_jobs, verbose="ERROR")
    if l_freq is not None or h_freq is not None:
        out.filter(l_freq, h_freq, n_jobs=n_jobs, verbose="ERROR")
    if sfreq is not None and sfreq != out.info["sfreq"]:
        out.resample(sfreq, n_jobs=n_jobs, verbose="ERROR")
    return out
