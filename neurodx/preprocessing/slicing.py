"""Cutting volumes into 2-D slices, in memory or streamed from disk: one implementation.

:class:`VolumeSlicer` is the one slicer: frame selection, normalisation (the list is
:data:`NORMALIZATIONS`), cutting along an axis, the per-slice transform (e.g. CT
windows) and fitting into a shape. :meth:`VolumeSlicer.stack` slices a volume held in
memory (the slice CNN estimator, :class:`~neurodx.models.SliceVotingClassifier`);
:class:`SliceDataset` streams a cohort from disk block by block and calls the same
methods on each block, so both give identical slices.

A slice is always identified by where it came from: subject ID, volume
(recording) number within the subject, frame index (0 for 3-D volumes) and
slice index along the slicing axis. Indices refer to the RAS-canonical array
(see :mod:`neurodx.preprocessing.geometry`) unless ``canonical=False``; axis 2
then gives axial slices whatever the scanner's storage order.

Empty-slice rule (``drop_empty=True``): for each volume, a *reference* frame
(the first selected frame) decides once which slice indices are kept, so every
frame of a run keeps the same slices and the original indices are reported. A
slice is empty when fewer than ``empty_fraction`` of its pixels are foreground;
foreground is the mask when one is given, else voxels above the reference
frame's Otsu threshold (air vs head for CT in HU, background vs brain for fMRI).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
import pandas as pd
import torch
from nibabel.orientations import io_orientation
from torch.utils.data import Dataset

from ..errors import ConfigError, RecordingError
from ..io.volumes import read_volume
from .geometry import fit_slice, reorient_array
from .intensity import (_safe_std, foreground_mask, frame_statistics, load_mask, otsu_threshold,
                        voxel_stats)

__all__ = ["frame_indices", "nonempty_slices", "VolumeSlice", "iter_slices", "VolumeSlicer",
           "SliceRecord", "SliceSample", "SliceDataset", "NORMALIZATIONS"]

#: ``normalize`` settings of :class:`VolumeSlicer` (and of what uses it).
NORMALIZATIONS = (None, "frame", "voxel")
#: Frames summed together into voxel statistics, in memory and streamed alike: the
#: same blocks give the same float sums, so both paths normalise identically.
STATS_FRAMES = 8


def frame_indices(n_frames: int, frames: slice | Sequence[int] | None = None,
                  stride: int = 1) -> np.ndarray:
    """Indices of the frames to use: a selection (slice or indices), then every ``stride``-th.

    Raises
    ------
    ConfigError
        Stride below 1, indices out of range, or an empty selection.
    """
    if int(stride) < 1:
        raise ConfigError(f"frame stride must be >= 1, got {stride}")
    all_frames = np.arange(n_frames)
    if frames is None:
        chosen = all_frames
    elif isinstance(frames, slice):
        chosen = all_frames[frames]
    else:
        chosen = np.asarray(frames, dtype=int).ravel()
        bad = chosen[(chosen < 0) | (chosen >= n_frames)]
        if bad.size:
            raise ConfigError(f"frame indices {bad[:5].tolist()} out of range for {n_frames} "
                              "frames")
    chosen = chosen[::int(stride)]
    if chosen.size == 0:
        raise ConfigError(f"no frame selected out of {n_frames} (frames={frames!r}, "
                          f"stride={stride})")
    return chosen


def nonempty_slices(volume: np.ndarray, axis: int = 2, *, mask: np.ndarray | None = None,
                    min_fraction: float = 0.01) -> np.ndarray:
    """Indices of the slices along ``axis`` that are not empty (see the module docstring).

    Parameters
    ----------
    volume : ndarray (3-D)
        The reference frame.
    mask : ndarray of bool, optional
        Foreground; by default ``volume > otsu_threshold(volume)``.
    min_fraction : float
        Smallest foreground fraction of a kept slice.
    """
    foreground = np.asarray(mask, bool) if mask is not None else \
        np.asarray(volume) > otsu_threshold(volume)
    other = tuple(a for a in range(3) if a != axis)
    fraction = foreground.mean(axis=other)
    return np.flatnonzero(fraction >= min_fraction)


def _spatial_axes(affine: np.ndarray, canonical: bool) -> np.ndarray:
    """For each output axis, the stored axis it comes from."""
    if not canonical:
        return np.arange(3)
    return np.argsort(io_orientation(affine)[:, 0])


def _read_frames(img, frames: Sequence[int], canonical: bool) -> np.ndarray:
    """Frames ``frames`` of ``img`` as float32 ``(x, y, z, len(frames))``, one read per frame."""
    if len(img.shape) == 3:
        block = np.asarray(img.dataobj, dtype=np.float32)[..., None]
    else:
        block = np.stack([np.asarray(img.dataobj[..., int(t)], dtype=np.float32)
                          for t in frames], axis=-1)
    if canonical:
        # C order, as the in-memory path holds volumes: the same sums in both.
        block = np.ascontiguousarray(reorient_array(block, img.affine)[0])
    return block


class VolumeSlice(NamedTuple):
    """One 2-D slice and where it came from."""

    data: np.ndarray
    slice_index: int
    frame_index: int


def iter_slices(img, *, axis: int = 2, frames: slice | Sequence[int] | None = None,
                frame_stride: int = 1, canonical: bool = True,
                slices: Sequence[int] | None = None) -> Iterator[VolumeSlice]:
    """Yield the 2-D slices of a 3-D or 4-D image, frame by frame (one frame in memory).

    Parameters
    ----------
    img : nibabel image
        3-D volume or 4-D time series (from :func:`neurodx.io.read_volume`).
    axis : {0, 1, 2}
        Slicing axis (2 = axial in canonical layout).
    frames, frame_stride
        Frame selection for 4-D images (:func:`frame_indices`); ignored for 3-D.
    canonical : bool
        Reorient to RAS+ first (indices then refer to the canonical array).
    slices : sequence of int, optional
        Slice indices to keep (e.g. from :func:`nonempty_slices`); all by default.
    """
    _check_axis(axis)
    n_frames = img.shape[3] if len(img.shape) == 4 else 1
    chosen = frame_indices(n_frames, frames, frame_stride) if n_frames > 1 else np.array([0])
    for t in chosen:
        frame = _read_frames(img, [t], canonical)[..., 0]
        keep = range(frame.shape[axis]) if slices is None else slices
        for k in keep:
            yield VolumeSlice(np.take(frame, int(k), axis=axis), int(k), int(t))


def _check_axis(axis):
    if axis not in (0, 1, 2):
        raise ConfigError(f"slicing axis must be 0, 1 or 2, got {axis!r}")


class VolumeSlicer:
    """How a volume becomes 2-D slices: the one slicing implementation.

    The steps, in order: select frames (:func:`frame_indices`; 3-D volumes have one
    frame, 0); normalise; set voxels outside ``mask`` to 0; cut along ``axis`` at
    positions ``slices``; apply ``transform`` to each 2-D slice; add a channel axis;
    fit the slice into ``slice_shape``. :meth:`stack` does all of it on a volume in
    memory; :class:`SliceDataset` calls :meth:`frame_selection`,
    :meth:`voxel_statistics`, :meth:`statistics` and :meth:`finish` on blocks of frames
    read from disk, so the two paths give the same slices.

    Parameters
    ----------
    axis : {0, 1, 2}
        Slicing axis (2 = axial in the RAS+ canonical layout).
    slices : sequence of int, optional
        Slice indices to keep, in this order (all by default).
    frames : slice or sequence of int, optional
        Frames of 4-D runs to use (all by default), then every ``frame_stride``-th.
    frame_stride : int
    normalize : {None, "frame", "voxel"}
        ``"frame"``: z-score each selected 3-D frame (statistics inside the mask, if
        any). ``"voxel"``: z-score each voxel over *every* frame of the run (4-D
        only; statistics accumulated in blocks of :data:`STATS_FRAMES` frames).
        ``None``: as given (e.g. CT, whose HU the transform windows).
    transform : callable, optional
        Applied to each 2-D float32 slice after normalisation, returning ``(H, W)`` or
        ``(C, H, W)`` (e.g. :class:`~neurodx.preprocessing.intensity.CTIntensity`).
    slice_shape : (H, W), optional
        Fit every slice into this shape after the transform, so the padding is 0 in
        the transform's units (:func:`~neurodx.preprocessing.geometry.fit_slice`).
    """

    def __init__(self, axis: int = 2, *, slices: Sequence[int] | None = None,
                 frames: slice | Sequence[int] | None = None, frame_stride: int = 1,
                 normalize: str | None = None, transform: Callable | None = None,
                 slice_shape: Sequence[int] | None = None):
        _check_axis(axis)
        if normalize not in NORMALIZATIONS:
            raise ConfigError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
        self.axis = axis
        self.slices = slices
        self.frames = frames
        self.frame_stride = int(frame_stride)
        self.normalize = normalize
        self.transform = transform
        self.slice_shape = None if slice_shape is None else tuple(int(n) for n in slice_shape)

    # -- the steps, shared by both paths ----------------------------------------------------
    def frame_selection(self, shape: Sequence[int], source) -> np.ndarray:
        """Indices of the frames used of a volume of ``shape`` (``source`` names it in errors)."""
        n_frames = shape[3] if len(shape) == 4 else 1
        if self.normalize == "voxel" and n_frames < 2:
            raise RecordingError(source, "normalize='voxel' z-scores each voxel over time and "
                                         "needs a 4-D run; this volume is 3-D (shape "
                                         f"{tuple(shape)})")
        try:
            return frame_indices(n_frames, self.frames, self.frame_stride) if n_frames > 1 \
                else np.array([0])
        except ConfigError as err:
            raise RecordingError(source, str(err)) from None

    def positions(self, n_slices: int, source) -> np.ndarray:
        """Slice indices used along the axis of a volume with ``n_slices`` of them."""
        positions = np.arange(n_slices) if self.slices is None else np.asarray(self.slices, int)
        bad = positions[(positions < 0) | (positions >= n_slices)]
        if bad.size:
            raise RecordingError(source, f"slice indices {bad[:5].tolist()} out of range: the "
                                         f"volume has {n_slices} slices along axis {self.axis}")
        return positions

    @staticmethod
    def voxel_statistics(read: Callable[[int, int], np.ndarray], n_frames: int
                         ) -> tuple[np.ndarray, np.ndarray]:
        """Per-voxel mean and std over every frame; ``read(start, stop)`` gives those frames."""
        return voxel_stats(read(s, min(s + STATS_FRAMES, n_frames))
                           for s in range(0, n_frames, STATS_FRAMES))

    def statistics(self, block: np.ndarray, *, voxel=None, mask=None
                   ) -> tuple[np.ndarray, np.ndarray] | None:
        """``(mean, std)`` that normalise ``block`` ``(x, y, z, t)`` by broadcasting, or None.

        Frame statistics are ``(t,)``, each from its frame alone
        (:func:`~neurodx.preprocessing.intensity.frame_statistics`), so a block of
        frames and the whole run give the same; voxel statistics come from
        :meth:`voxel_statistics` as ``voxel`` and are ``(x, y, z, 1)``. A zero std
        becomes infinity, so constant frames or voxels map to 0.
        """
        if self.normalize == "frame":
            return frame_statistics(block, mask)
        if self.normalize == "voxel":
            mean, std = voxel
            return mean[..., None], _safe_std(std)[..., None]
        return None

    def finish(self, image: np.ndarray) -> np.ndarray:
        """One normalised 2-D slice as the network's float32 ``(C, H, W)`` input."""
        if self.transform is not None:
            image = self.transform(image)
        image = np.asarray(image, dtype=np.float32)
        image = image[None] if image.ndim == 2 else image
        # After the transform, so padding is 0 in the network's units (black).
        if self.slice_shape is not None:
            image = fit_slice(image, self.slice_shape)
        return image

    # -- in memory -----------------------------------------------------------------------
    def stack(self, volume: np.ndarray, source, *, mask: np.ndarray | None = None
              ) -> np.ndarray:
        """``(n_positions, n_frames, C, H, W)`` float32 slices of a 3-D or 4-D ``volume``.

        Parameters
        ----------
        volume : ndarray ``(x, y, z)`` or ``(x, y, z, t)``
            In the layout to slice (reorient first for canonical slices).
        source : str or path
            Names the volume in errors (a subject ID or a file).
        mask : ndarray of bool ``(x, y, z)``, optional
            Foreground: frame statistics inside it, zeros outside.
        """
        vol = np.asarray(volume)
        if vol.ndim not in (3, 4):
            raise RecordingError(source, f"expected a 3-D or 4-D volume, got shape {vol.shape}")
        if not np.all(np.isfinite(vol)):
            raise RecordingError(source, "volume contains NaN or infinite values")
        frames = self.frame_selection(vol.shape, source)
        if vol.ndim == 3:
            vol = vol[..., None]
        n_frames = vol.shape[3]
        voxel = (self.voxel_statistics(lambda a, b: vol[..., a:b], n_frames)
                 if self.normalize == "voxel" else None)
        if not np.array_equal(frames, np.arange(n_frames)):   # all frames: no copy
            vol = vol[..., frames]
        stats = self.statistics(vol, voxel=voxel, mask=mask)
        positions = self.positions(vol.shape[self.axis], source)
        # (position, frame, H, W): slicing axis first, frames second, in-plane axes in order.
        planes = self._planes(vol, positions)
        planes = np.array(planes, dtype=np.float32, order="C")      # the one copy
        # The statistics are applied in the planes' layout, in place: the same float32
        # operations as on the block, without a second copy of the volume.
        if stats is not None:
            mean, std = stats
            planes -= self._planes(mean, positions)
            planes /= self._planes(std, positions)
        if mask is not None:
            planes *= self._planes(np.asarray(mask, bool)[..., None], positions)
        if self.transform is None and self.slice_shape is None:
            return planes[:, :, None]
        return np.ascontiguousarray(np.stack([np.stack([self.finish(img) for img in row])
                                              for row in planes]), dtype=np.float32)

    def _planes(self, arr: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """``arr`` (``(x, y, z, t)``-broadcastable, or per frame ``(t,)``) in the layout
        ``(position, frame, H, W)`` of :meth:`stack`."""
        if arr.ndim == 1:
            return arr[None, :, None, None]
        planes = np.moveaxis(arr, (self.axis, 3), (0, 1))
        return planes if self.slices is None else planes[positions]


@dataclass(frozen=True)
class SliceRecord:
    """One subject for :class:`SliceDataset`: ID, recording path(s), label."""

    subject_id: str
    paths: tuple[Path, ...]
    label: Any = None

    @classmethod
    def coerce(cls, record) -> "SliceRecord":
        """Accept a SliceRecord, a ``(subject_id, path_or_paths, label)`` tuple or a dict."""
        if isinstance(record, SliceRecord):
            return record
        if isinstance(record, dict):
            sid, paths, label = record["subject_id"], record["paths"], record.get("label")
        else:
            sid, paths, label = record
        if isinstance(paths, (str, Path)):
            paths = [paths]
        paths = tuple(Path(p) for p in paths)
        if not paths:
            raise ConfigError(f"subject {sid}: no recording path")
        return cls(str(sid), paths, label)


class SliceSample(NamedTuple):
    """What :class:`SliceDataset` yields (``default_collate`` batches each field)."""

    image: torch.Tensor      # (C, H, W) float32
    subject_id: str
    slice_index: int
    frame_index: int
    label: int               # index into SliceDataset.classes; -1 when unlabelled
    volume_index: int        # which of the subject's recordings


@dataclass
class _Volume:
    subject_id: str
    volume_index: int
    path: Path
    label: int
    shape: tuple[int, int, int]   # spatial, in the slicing layout
    n_frames: int
    frames: np.ndarray
    slices: np.ndarray


class SliceDataset(Dataset):
    """2-D slices of a cohort's volumes, read from disk on demand.

    Only headers are read at construction (plus one reference frame per
    volume when ``drop_empty``); ``__getitem__`` reads the block of frames the
    slice belongs to (``chunk_frames`` frames, one block cached), so iterating
    in order reads each frame once and memory stays at about one block,
    whatever the cohort size. Items are ordered by subject, volume, frame,
    slice; shuffling works but re-reads a block per item (prefer a sampler
    that shuffles blocks, or a small ``chunk_frames``). Safe with DataLoader
    workers: file handles and caches are not pickled.

    Parameters
    ----------
    records : sequence
        :class:`SliceRecord` or ``(subject_id, path_or_paths, label)`` tuples.
    axis : {0, 1, 2}
        Slicing axis in the (canonical) array; 2 = axial.
    frames : slice or sequence of int, optional
        Frames of 4-D runs to use (all by default); 3-D volumes have one frame (0).
    frame_stride : int
        Every ``frame_stride``-th selected frame.
    transform : callable, optional
        Applied to each 2-D float32 slice (after normalisation, before resizing;
        slicing is :class:`VolumeSlicer`'s),
        e.g. :class:`~neurodx.preprocessing.intensity.CTWindows`. Returns
        ``(H, W)`` or ``(C, H, W)``; a channel axis is added to 2-D results.
    normalize : {None, "voxel", "frame"}
        ``"voxel"``: z-score each voxel over its run's frames (statistics from
        one streamed pass over the run; 8 bytes per voxel kept per volume).
        ``"frame"``: z-score each 3-D frame (inside the mask if any).
    mask : None, "auto" or path
        ``"auto"``: per-volume foreground mask of the reference frame
        (:func:`~neurodx.preprocessing.intensity.foreground_mask`); a path: one
        mask file for all volumes (same grid). Voxels outside become 0.
    drop_empty : bool
        Drop empty slices (rule in the module docstring); indices are kept.
    empty_fraction : float
        Foreground fraction below which a slice is empty.
    slice_shape : (H, W), optional
        Fit every slice into this shape, aspect kept and padded with 0
        (:func:`~neurodx.preprocessing.geometry.fit_slice`). Without it, volumes
        whose in-plane shapes differ are refused at construction.
    canonical : bool
        Reorient volumes to RAS+ before slicing (default).
    classes : sequence, optional
        Label order (label -> index); sorted distinct labels by default.
    chunk_frames : int
        Frames read together and cached.
    series : str, optional
        DICOM series choice (see :func:`neurodx.io.read_volume`).
    """

    def __init__(self, records: Sequence, *, axis: int = 2,
                 frames: slice | Sequence[int] | None = None, frame_stride: int = 1,
                 transform: Callable[[np.ndarray], Any] | None = None,
                 normalize: str | None = None, mask: str | Path | None = None,
                 drop_empty: bool = False, empty_fraction: float = 0.01,
                 slice_shape: Sequence[int] | None = None, canonical: bool = True,
                 classes: Sequence | None = None, chunk_frames: int = 8,
                 series: str | None = None):
        self.slicer = VolumeSlicer(axis, frames=frames, frame_stride=frame_stride,
                                   normalize=normalize, transform=transform,
                                   slice_shape=slice_shape)
        if int(chunk_frames) < 1:
            raise ConfigError(f"chunk_frames must be >= 1, got {chunk_frames}")
        self.records = [SliceRecord.coerce(r) for r in records]
        if not self.records:
            raise ConfigError("SliceDataset needs at least one record")
        self.axis, self.frames, self.frame_stride = axis, frames, int(frame_stride)
        self.transform, self.normalize, self.mask = transform, normalize, mask
        self.drop_empty, self.empty_fraction = drop_empty, float(empty_fraction)
        self.slice_shape = self.slicer.slice_shape
        self.canonical, self.chunk_frames, self.series = canonical, int(chunk_frames), series
        labels = [r.label for r in self.records if r.label is not None]
        self.classes = list(classes) if classes is not None else sorted(set(labels), key=str)
        unknown = sorted({str(lb) for lb in labels if lb not in self.classes})
        if unknown:
            raise ConfigError(f"labels {unknown} are not in classes {self.classes}")
        self._reset_caches()
        self._volumes = [self._index_volume(r, i, p) for r in self.records
                         for i, p in enumerate(r.paths)]
        self._check_shapes()
        counts = [len(v.frames) * len(v.slices) for v in self._volumes]
        self._offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    # -- construction ----------------------------------------------------------------------
    def _reset_caches(self):
        self._images: OrderedDict = OrderedDict()   # path -> open image (LRU, few)
        self._block_key = None
        self._block = None
        self._stats: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._masks: dict[int, np.ndarray] = {}

    def __getstate__(self):
        state = self.__dict__.copy()
        for key in ("_images", "_block_key", "_block", "_stats", "_masks"):
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._reset_caches()

    def _index_volume(self, record: SliceRecord, volume_index: int, path: Path) -> _Volume:
        img = read_volume(path, series=self.series)
        axes = _spatial_axes(img.affine, self.canonical)
        shape = tuple(int(img.shape[a]) for a in axes)
        n_frames = img.shape[3] if len(img.shape) == 4 else 1
        frames = self.slicer.frame_selection(img.shape, path)
        label = -1 if record.label is None else self.classes.index(record.label)
        vol = _Volume(record.subject_id, volume_index, path, label, shape, n_frames, frames,
                      np.arange(shape[self.axis]))
        if self.drop_empty:
            reference = _read_frames(img, frames[:1], self.canonical)[..., 0]
            mask = self._mask_for(vol, img, lambda: reference) if self.mask is not None else None
            vol.slices = nonempty_slices(reference, self.axis, mask=mask,
                                         min_fraction=self.empty_fraction)
            if vol.slices.size == 0:
                raise RecordingError(path, f"every slice along axis {self.axis} is empty "
                                           f"(foreground below {self.empty_fraction:g})")
        return vol

    def _check_shapes(self):
        if self.slice_shape is not None:
            return
        first = self._volumes[0]
        plane = [n for a, n in enumerate(first.shape) if a != self.axis]
        for v in self._volumes[1:]:
            other = [n for a, n in enumerate(v.shape) if a != self.axis]
            if other != plane:
                raise RecordingError(v.path, f"slices along axis {self.axis} are "
                                     f"{other[0]}x{other[1]}, those of {first.subject_id} "
                                     f"({first.path.name}) are {plane[0]}x{plane[1]}; set "
                                     "slice_shape (in a config routes.<name>.slice_shape: "
                                     "[H, W]) to resample every slice")

    # -- reading ---------------------------------------------------------------------------
    def _image(self, path: Path):
        img = self._images.pop(path, None)
        if img is None:
            img = read_volume(path, series=self.series, keep_file_open=True)
        self._images[path] = img
        while len(self._images) > 2:
            self._images.popitem(last=False)
        return img

    def _mask_for(self, vol: _Volume, img, reference: Callable[[], np.ndarray]) -> np.ndarray:
        """The volume's mask in the slicing layout; ``reference()`` gives its reference frame."""
        key = str(vol.path)
        if key not in self._masks:
            if self.mask == "auto":
                self._masks[key] = foreground_mask(reference())
            else:
                mask = load_mask(self.mask, img.shape[:3], img.affine)
                if self.canonical:
                    mask = reorient_array(mask, img.affine)[0]
                self._masks[key] = np.ascontiguousarray(mask)
        return self._masks[key]

    def _voxel_stats(self, v: int, img) -> tuple[np.ndarray, np.ndarray]:
        if v not in self._stats:
            n = img.shape[3] if len(img.shape) == 4 else 1
            self._stats[v] = self.slicer.voxel_statistics(
                lambda a, b: _read_frames(img, range(a, b), self.canonical), n)
        return self._stats[v]

    def _load_block(self, v: int, chunk: int) -> np.ndarray:
        if self._block_key == (v, chunk):
            return self._block
        self._block = None  # free the previous block before reading the next
        vol = self._volumes[v]
        img = self._image(vol.path)
        frames = vol.frames[chunk * self.chunk_frames:(chunk + 1) * self.chunk_frames]
        block = _read_frames(img, frames, self.canonical)
        mask = None
        if self.mask is not None:
            mask = self._mask_for(vol, img, lambda: block[..., 0] if chunk == 0 else
                                  _read_frames(img, vol.frames[:1], self.canonical)[..., 0])
        voxel = self._voxel_stats(v, img) if self.normalize == "voxel" else None
        stats = self.slicer.statistics(block, voxel=voxel, mask=mask)
        if stats is not None:
            block -= stats[0]
            block /= stats[1]
        if mask is not None:
            block *= mask[..., None]
        self._block_key, self._block = (v, chunk), block
        return block

    # -- Dataset protocol -------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._offsets[-1])

    def locate(self, index: int) -> tuple[int, int, int]:
        """``(volume number, frame index, slice index)`` of item ``index``."""
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} slices")
        v = int(np.searchsorted(self._offsets, index, side="right") - 1)
        vol = self._volumes[v]
        f_pos, s_pos = divmod(int(index - self._offsets[v]), len(vol.slices))
        return v, int(vol.frames[f_pos]), int(vol.slices[s_pos])

    def __getitem__(self, index: int) -> SliceSample:
        v, frame, sl = self.locate(index)
        if index < 0:
            index += len(self)
        vol = self._volumes[v]
        f_pos = (int(index - self._offsets[v])) // len(vol.slices)
        chunk, offset = divmod(f_pos, self.chunk_frames)
        block = self._load_block(v, chunk)
        image = self.slicer.finish(np.take(block[..., offset], sl, axis=self.axis))
        tensor = torch.as_tensor(np.ascontiguousarray(image), dtype=torch.float32)
        return SliceSample(tensor, vol.subject_id, sl, frame, vol.label, vol.volume_index)

    def index_frame(self) -> pd.DataFrame:
        """One row per item (no pixel read): subject_id, volume_index, path, frame_index,
        slice_index, label; handy for subject-level grouping and voting."""
        parts = []
        for vol in self._volumes:
            f, s = np.meshgrid(vol.frames, vol.slices, indexing="ij")
            n = f.size
            parts.append(pd.DataFrame({
                "subject_id": np.repeat(vol.subject_id, n),
                "volume_index": np.repeat(vol.volume_index, n),
                "path": np.repeat(str(vol.path), n),
                "frame_index": f.ravel(), "slice_index": s.ravel(),
                "label": np.repeat(vol.label, n)}))
        return pd.concat(parts, ignore_index=True)

    @property
    def subject_ids(self) -> np.ndarray:
        """Subject ID of every item, in item order (for group-aware splitting)."""
        return np.concatenate([np.repeat(v.subject_id, len(v.frames) * len(v.slices))
                               for v in self._volumes])

    def __repr__(self) -> str:
        return (f"SliceDataset({len(self.records)} subjects, {len(self._volumes)} volumes, "
                f"{len(self)} slices, axis={self.axis}, normalize={self.normalize!r})")
