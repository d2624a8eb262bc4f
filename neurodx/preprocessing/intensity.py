"""Intensities: CT windows, the display path, fMRI normalisation, foreground masks.

CT arrives in Hounsfield units (the DICOM reader applies RescaleSlope and
RescaleIntercept); windowing maps HU to [0, 1] only at the end, and several
windows can be stacked as image channels, as radiologists flip between them.
Exported PNG/JPEG slices hold display grey levels instead (a window was applied
at export): they are scaled to [0, 1] by their full scale and never windowed
again. :class:`CTIntensity` picks between the two by the scan's unit
(:mod:`neurodx.io.units`).
fMRI is normalised per voxel over time (each voxel's time series to zero mean,
unit variance) or per frame (each 3-D frame to zero mean, unit variance).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from nibabel.orientations import apply_orientation, inv_ornt_aff, io_orientation, ornt_transform
from scipy import ndimage

from ..errors import ConfigError, RecordingError
from ..io.units import DISPLAY, HU, describe_unit
from ..io.volumes import read_volume

__all__ = ["CT_WINDOWS", "window", "window_stack", "resolve_windows", "to_uint8", "CTWindows",
           "GreyChannels", "CTIntensity", "display_fraction",
           "zscore_voxels", "zscore_frames", "frame_statistics", "voxel_stats", "otsu_threshold", "foreground_mask",
           "load_mask"]

#: Window presets as (level, width) in HU.
CT_WINDOWS = {"brain": (40.0, 80.0), "subdural": (75.0, 215.0), "stroke": (40.0, 40.0),
              "bone": (600.0, 2800.0)}


def resolve_windows(windows: Iterable[str | tuple[float, float]]) -> list[tuple[float, float]]:
    """Turn preset names and ``(level, width)`` pairs into ``(level, width)`` pairs."""
    out = []
    for w in windows:
        if isinstance(w, str):
            if w not in CT_WINDOWS:
                raise ConfigError(f"unknown CT window {w!r}; presets: {', '.join(CT_WINDOWS)} "
                                  "(or give (level, width) in HU)")
            out.append(CT_WINDOWS[w])
        else:
            level, width = (float(v) for v in w)
            if width <= 0:
                raise ConfigError(f"window width must be positive, got {width:g}")
            out.append((level, width))
    if not out:
        raise ConfigError("at least one CT window is needed")
    return out


def window(hu: np.ndarray, level: float, width: float) -> np.ndarray:
    """Map HU to [0, 1]: ``level - width/2`` -> 0, ``level + width/2`` -> 1, clipped."""
    lo = level - width / 2.0
    return np.clip((np.asarray(hu, dtype=np.float32) - np.float32(lo)) / np.float32(width),
                   0.0, 1.0)


def window_stack(hu: np.ndarray, windows: Sequence[str | tuple[float, float]] =
                 ("brain", "subdural", "bone")) -> np.ndarray:
    """Several windows of the same HU array stacked on a new first axis: ``(C, ...)``."""
    return np.stack([window(hu, lv, wd) for lv, wd in resolve_windows(windows)], axis=0)


def to_uint8(hu: np.ndarray, level: float, width: float) -> np.ndarray:
    """One window as 8-bit grey levels (what a PNG export of a CT slice holds)."""
    return np.round(window(hu, level, width) * 255.0).astype(np.uint8)


class CTWindows:
    """Slice transform: a 2-D HU slice -> ``(C, H, W)`` float32 channels, one per window.

    Parameters
    ----------
    windows : sequence of str or (level, width)
        Presets from :data:`CT_WINDOWS` or explicit pairs; default brain,
        subdural and bone.
    """

    def __init__(self, windows: Sequence[str | tuple[float, float]] = ("brain", "subdural",
                                                                       "bone")):
        self.windows = tuple(windows)
        self._pairs = resolve_windows(self.windows)

    def __call__(self, hu: np.ndarray) -> np.ndarray:
        return np.stack([window(hu, lv, wd) for lv, wd in self._pairs], axis=0)

    def __repr__(self) -> str:
        return f"CTWindows({self.windows!r})"


class GreyChannels:
    """Slice transform for display images: grey levels in [0, 1] -> ``(C, H, W)`` copies.

    The grey image is repeated on ``channels`` channels so a network built for
    ``C`` HU windows keeps its shape. Why not per-image contrast channels
    (re-windowed grey levels, histogram equalisation): the export already chose
    a window, and any fixed re-windowing of grey levels only clips what it kept
    (the brain window of grey levels saturates everything above 80); the
    network learns its own contrasts from the one channel there is.

    Parameters
    ----------
    channels : int
        Number of channels the network expects.
    """

    def __init__(self, channels: int = 3):
        self.channels = int(channels)

    def __call__(self, grey: np.ndarray) -> np.ndarray:
        grey = np.asarray(grey, dtype=np.float32)
        return np.repeat(grey[None], self.channels, axis=0)

    def __repr__(self) -> str:
        return f"GreyChannels({self.channels})"


class CTIntensity:
    """CT slice transform chosen by the scan's unit: HU windows, or the display path.

    * ``"HU"``: :class:`CTWindows` (one channel per window);
    * ``"display"``: :class:`GreyChannels` (the [0, 1] grey image, as many
      channels as there are windows, so the network is the same).

    Used by the CT presets; the estimator asks :meth:`for_unit` for each scan.

    Parameters
    ----------
    windows : sequence of str or (level, width)
        HU windows for scans in HU (default brain, subdural, bone).
    """

    def __init__(self, windows: Sequence[str | tuple[float, float]] = ("brain", "subdural",
                                                                       "bone")):
        self.windows = tuple(windows)
        resolve_windows(self.windows)   # refuse unknown presets when built, not per scan

    def for_unit(self, unit: str, *, source: str = ""):
        """The slice transform for a scan in ``unit``.

        Raises
        ------
        RecordingError
            The unit is unknown (e.g. a NIfTI without air below -500): the
            config must say what it is.
        """
        if unit == HU:
            return CTWindows(self.windows)
        if unit == DISPLAY:
            return GreyChannels(len(self.windows))
        raise RecordingError(source, f"{describe_unit(unit)}: cannot tell Hounsfield units from "
                                     "grey levels (no air below -500); set volume.intensity: "
                                     "hu (CT in HU) or display (grey levels)")

    def __repr__(self) -> str:
        return f"CTIntensity({self.windows!r})"


def display_fraction(grey: np.ndarray, full_scale: float | None = None, *,
                     source: str = "") -> np.ndarray:
    """Display grey levels as float32 fractions of full white, in [0, 1].

    Parameters
    ----------
    grey : ndarray
        Grey levels (any shape).
    full_scale : float, optional
        Grey level of white (255 for 8-bit, 65535 for 16-bit images; recorded
        by the image reader). Inferred when None (a volume declared ``display``
        by the config): 1, 255 or 65535, the smallest the values fit under.

    Raises
    ------
    RecordingError
        Negative values, or values above 65535 without a full scale.
    """
    grey = np.asarray(grey, dtype=np.float32)
    lo, hi = (float(grey.min()), float(grey.max())) if grey.size else (0.0, 0.0)
    if lo < 0:
        raise RecordingError(source, f"values down to {lo:g}: display grey levels are never "
                                     "negative (is it CT in HU? set volume.intensity: hu)")
    if full_scale is None:
        full_scale = next((s for s in (1.0, 255.0, 65535.0) if hi <= s), None)
        if full_scale is None:
            raise RecordingError(source, f"values up to {hi:g}: not 8- or 16-bit grey levels")
    return np.clip(grey / np.float32(full_scale), 0.0, 1.0)


def _safe_std(std: np.ndarray) -> np.ndarray:
    # Constant voxels/frames (background, masked out) normalise to 0, not NaN.
    std = np.asarray(std, dtype=np.float32)
    return np.where(std > 0, std, np.inf).astype(np.float32)


def zscore_voxels(data: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Per-voxel z-score over time (last axis) of a 4-D array.

    Voxels outside ``mask`` (3-D bool) and constant voxels become 0.
    """
    data = np.asarray(data, dtype=np.float32)
    mean = data.mean(axis=-1, keepdims=True)
    std = data.std(axis=-1, keepdims=True)
    out = (data - mean) / _safe_std(std)
    if mask is not None:
        out *= np.asarray(mask, bool)[..., None]
    return out


def frame_statistics(data: np.ndarray, mask: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each frame of ``(x, y, z, t)`` float32 data, as
    :func:`zscore_frames` divides by them (0 becomes infinity: a constant frame maps to 0).

    For callers that apply the z-score in another memory layout (the slice stacks of
    the CNN estimators) with the same numbers.
    """
    # Each frame from its own voxels alone, as one contiguous row: numpy's sums follow the
    # memory layout, and a frame must get the same statistics whatever the layout of the
    # array, the frames beside it or the block it was read in (in memory or streamed).
    frames = np.moveaxis(np.asarray(data), -1, 0)
    rows = frames.reshape(len(frames), -1) if mask is None else \
        frames[:, np.asarray(mask, bool)]
    rows = np.ascontiguousarray(rows)
    return rows.mean(axis=1), _safe_std(rows.std(axis=1))


def zscore_frames(data: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Per-frame z-score: each 3-D frame (last axis indexes frames) to mean 0, sd 1.

    Statistics are taken inside ``mask`` when given; outside becomes 0. A 3-D
    array is one frame.
    """
    data = np.asarray(data, dtype=np.float32)
    squeeze = data.ndim == 3
    if squeeze:
        data = data[..., None]
    mean, std = frame_statistics(data, mask)
    out = (data - mean) / std
    if mask is not None:
        out *= np.asarray(mask, bool)[..., None]
    return out[..., 0] if squeeze else out


def voxel_stats(blocks: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-voxel mean and standard deviation over time, accumulated block by block.

    Parameters
    ----------
    blocks : iterable of ndarray
        Blocks of frames ``(x, y, z, n_t)`` (e.g. read in turn from a proxy), so
        the whole run never needs to be in memory.

    Returns
    -------
    mean, std : ndarray (x, y, z), float32
    """
    total = sq = None
    n = 0
    for block in blocks:
        block = np.asarray(block, dtype=np.float64)
        # Shifting by the first frame keeps sum-of-squares accurate for large baselines.
        if total is None:
            shift = block[..., 0].copy()
            total = np.zeros(block.shape[:-1])
            sq = np.zeros(block.shape[:-1])
        centred = block - shift[..., None]
        total += centred.sum(axis=-1)
        sq += (centred ** 2).sum(axis=-1)
        n += block.shape[-1]
    if n == 0:
        raise ValueError("no frames to compute voxel statistics from")
    mean_c = total / n
    var = np.maximum(sq / n - mean_c ** 2, 0.0)
    return (mean_c + shift).astype(np.float32), np.sqrt(var).astype(np.float32)


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold: the cut maximising between-class variance of a histogram."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0 or v.min() == v.max():
        return float(v.min()) if v.size else 0.0
    hist, edges = np.histogram(v, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu0 = m0 / w0
        mu1 = (m0[-1] - m0) / w1
        between = w0 * w1 * (mu0 - mu1) ** 2
    between = np.nan_to_num(between[:-1], nan=-1.0)
    return float(edges[1:][:-1][np.argmax(between)])


def foreground_mask(volume: np.ndarray, threshold: float | str = "otsu", *,
                    fill_holes: bool = True, largest_component: bool = True) -> np.ndarray:
    """A simple foreground (head/brain) mask of a 3-D volume.

    Voxels above ``threshold`` (a value, or ``"otsu"``); then holes filled
    (slice by slice along the last axis, so ventricles stay inside) and only
    the largest connected component kept. For fMRI pass the mean image; for CT
    in HU this keeps the head (tissue and skull) and drops air.
    """
    volume = np.asarray(volume, dtype=np.float32)
    thr = otsu_threshold(volume) if threshold == "otsu" else float(threshold)
    mask = volume > thr
    if largest_component and mask.any():
        labels, n = ndimage.label(mask)
        if n > 1:
            sizes = np.bincount(labels.ravel())
            sizes[0] = 0
            mask = labels == np.argmax(sizes)
    if fill_holes:
        for k in range(mask.shape[-1]):
            mask[..., k] = ndimage.binary_fill_holes(mask[..., k])
    return mask


def load_mask(path: str | Path, shape: Sequence[int], affine: np.ndarray) -> np.ndarray:
    """Read a mask file (non-zero = inside) in the voxel layout of a reference grid.

    The mask may be stored in another orientation (it is reoriented), but must
    cover the same voxel grid as the reference: same shape and affine after
    reorientation, to 0.01 mm.

    Raises
    ------
    RecordingError
        Unreadable mask, not 3-D, or another grid.
    """
    img = read_volume(path)
    if len(img.shape) != 3:
        raise RecordingError(path, f"a mask must be 3-D, got shape {img.shape}")
    data = np.asanyarray(img.dataobj) != 0
    ref_ornt = io_orientation(affine)
    mask_ornt = io_orientation(img.affine)
    canonical = apply_orientation(data, mask_ornt)
    mask_can_aff = img.affine @ inv_ornt_aff(mask_ornt, img.shape)
    ref_can_aff = affine @ inv_ornt_aff(ref_ornt, tuple(shape))
    ref_can_shape = tuple(int(shape[int(ax)]) for ax in np.argsort(ref_ornt[:, 0]))
    if canonical.shape != ref_can_shape or not np.allclose(mask_can_aff, ref_can_aff, atol=1e-2):
        raise RecordingError(path, f"mask grid (shape {'x'.join(map(str, img.shape))}) does not "
                                   f"match the volume's (shape {'x'.join(map(str, shape))}); "
                                   "resample the mask to the data first")
    back = ornt_transform(io_orientation(np.eye(4)), ref_ornt)
    return apply_orientation(canonical, back)
