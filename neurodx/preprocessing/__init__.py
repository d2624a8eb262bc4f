"""Preprocessing: EEG filtering, bands and windows (on MNE); volume geometry, intensity, slicing.

The slicing names (:class:`VolumeSlicer`, the one slicer used in memory and by the
streaming :class:`SliceDataset`, and friends) are imported on first use:
they need torch, whose import takes seconds that EEG-only work and the
simulators should not pay.
"""
from importlib import import_module

from .bands import DEFAULT_BANDS, check_bands
from .filtering import preprocess_raw
from .geometry import (canonical_orientation, fit_slice, orientation_codes, reorient_array,
                       resample, resize_slice, to_canonical)
from .intensity import (CT_WINDOWS, CTIntensity, CTWindows, GreyChannels, display_fraction,
                        foreground_mask, load_mask, otsu_threshold, resolve_windows, to_uint8,
                        voxel_stats, window, window_stack, zscore_frames, zscore_voxels)
from .windows import (annotation_onsets, bad_spans, band_windows, clean_window_mask,
                      sliding_windows, window_starts)

_SLICING = ("frame_indices", "nonempty_slices", "VolumeSlice", "iter_slices", "VolumeSlicer",
            "SliceRecord", "SliceSample", "SliceDataset", "NORMALIZATIONS")

__all__ = ["DEFAULT_BANDS", "check_bands", "preprocess_raw", "band_windows",
           "sliding_windows", "window_starts", "annotation_onsets", "bad_spans",
           "clean_window_mask",
           # volumes: geometry
           "orientation_codes", "canonical_orientation", "to_canonical", "reorient_array",
           "resample", "resize_slice", "fit_slice",
           # volumes: intensity
           "CT_WINDOWS", "window", "window_stack", "resolve_windows", "to_uint8", "CTWindows",
           "GreyChannels", "CTIntensity", "display_fraction",
           "zscore_voxels", "zscore_frames", "voxel_stats", "otsu_threshold", "foreground_mask",
           "load_mask",
           # volumes: slicing (imported on first use, see the module docstring)
           *_SLICING]


def __getattr__(name):
    if name in _SLICING:
        return getattr(import_module(".slicing", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SLICING))
