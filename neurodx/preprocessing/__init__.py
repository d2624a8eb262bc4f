"""Filtering, frequency bands and windowing (built on MNE)."""
from .bands import DEFAULT_BANDS, check_bands
from .filtering import preprocess_raw
from .windows import annotation_onsets, band_windows, sliding_windows, window_starts

__all__ = ["DEFAULT_BANDS", "check_bands", "preprocess_raw", "band_windows",
           "sliding_windows", "window_starts", "annotation_onsets"]
