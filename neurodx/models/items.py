"""Item sources: what the training engine reads slices and windows from.

The engine (:func:`neurodx.models.train_network`) needs, for every item, its
subject, its label, optionally its slice position, and a way to fetch a batch
(the :class:`~neurodx.models.training.ItemSource` protocol). Slicing and
windowing themselves stay in the data layer
(:mod:`neurodx.preprocessing.slicing`, :func:`neurodx.preprocessing.sliding_windows`);
these classes only index what it produced:

* :class:`SliceStackItems` -- per-subject in-memory stacks
  ``(n_positions, n_frames, channels, H, W)`` (what the estimators build);
* :class:`WindowItems` -- per-subject continuous ``(n_channels, n_times)`` arrays,
  windowed lazily as strided views (no copy of overlapping windows);
* :class:`DatasetItems` -- any map-style dataset yielding the data layer's
  ``SliceSample`` (e.g. :class:`neurodx.preprocessing.slicing.SliceDataset`, which
  streams slices from disk for cohorts larger than memory).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..preprocessing import sliding_windows

__all__ = ["SliceStackItems", "WindowItems", "DatasetItems"]


def _gather(index: np.ndarray, owner: np.ndarray, fetch) -> np.ndarray:
    """Fetch items subject by subject (vectorised within a subject), in ``index`` order."""
    index = np.asarray(index, dtype=np.int64)
    subjects = owner[index]
    out = None
    for s in np.unique(subjects):
        sel = np.flatnonzero(subjects == s)
        block = fetch(int(s), index[sel])
        if out is None:
            out = np.empty((len(index), *block.shape[1:]), dtype=np.float32)
        out[sel] = block
    if out is None:
        raise ValueError("cannot fetch an empty batch")
    return out


class SliceStackItems:
    """Slices of per-subject stacks ``(n_positions, n_frames, C, H, W)``.

    Parameters
    ----------
    stacks : list of ndarray
        One float32 stack per subject (positions may differ in number across
        subjects only for networks that ignore the position).
    groups : sequence
        Subject ID of each stack.
    labels : sequence of int, optional
        Class index of each subject (``-1`` when unlabelled).
    """

    def __init__(self, stacks: Sequence[np.ndarray], groups: Sequence,
                 labels: Sequence[int] | None = None):
        self.stacks = list(stacks)
        subj, pos, frame = [], [], []
        for s, stack in enumerate(self.stacks):
            n_pos, n_frames = stack.shape[:2]
            p, f = np.meshgrid(np.arange(n_pos), np.arange(n_frames), indexing="ij")
            subj.append(np.full(p.size, s))
            pos.append(p.ravel())
            frame.append(f.ravel())
        self._subject = np.concatenate(subj).astype(np.int64)
        self.positions = np.concatenate(pos).astype(np.int64)
        self.frames = np.concatenate(frame).astype(np.int64)
        group_arr = np.asarray(list(groups))
        self.groups = group_arr[self._subject]
        lab = np.full(len(self.stacks), -1) if labels is None else np.asarray(labels)
        self.labels = lab[self._subject].astype(np.int64)

    def __len__(self) -> int:
        return len(self._subject)

    def get(self, index: np.ndarray) -> np.ndarray:
        return _gather(index, self._subject,
                       lambda s, idx: self.stacks[s][self.positions[idx], self.frames[idx]])


class WindowItems:
    """Windows of per-subject ``(n_channels, n_times)`` recordings.

    Parameters
    ----------
    recordings : list of ndarray
        Continuous float32 data per subject (already normalised).
    window, step : int
        Window length and step in samples.
    groups, labels
        As for :class:`SliceStackItems`.
    """

    def __init__(self, recordings: Sequence[np.ndarray], window: int, step: int,
                 groups: Sequence, labels: Sequence[int] | None = None):
        self.views = [sliding_windows(np.asarray(r, dtype=np.float32), window, step)
                      for r in recordings]
        counts = np.array([len(v) for v in self.views], dtype=np.int64)
        self._subject = np.repeat(np.arange(len(self.views)), counts)
        self._window = np.concatenate([np.arange(n) for n in counts]).astype(np.int64) \
            if len(counts) else np.empty(0, np.int64)
        self.groups = np.asarray(list(groups))[self._subject]
        lab = np.full(len(self.views), -1) if labels is None else np.asarray(labels)
        self.labels = lab[self._subject].astype(np.int64)
        self.positions = None

    def __len__(self) -> int:
        return len(self._subject)

    def get(self, index: np.ndarray) -> np.ndarray:
        return _gather(index, self._subject, lambda s, idx: self.views[s][self._window[idx]])


class DatasetItems:
    """Adapter from a map-style slice dataset to the engine's item protocol.

    ``dataset[i]`` must return an object with ``image`` (``(C, H, W)`` tensor or
    array), and the dataset must offer ``index_frame()`` with columns
    ``subject_id``, ``slice_index`` and ``label`` (as
    :class:`neurodx.preprocessing.slicing.SliceDataset` does). Slice indices are
    used as positions, so a per-position network needs ``n_positions`` equal to
    the number of slices along the slicing axis. Batches are read in index order
    (the dataset caches blocks of frames), then put back in the requested order;
    shuffled training still reads one block per item from disk, so prefer the
    in-memory estimators when the cohort fits in memory.
    """

    def __init__(self, dataset):
        self.dataset = dataset
        frame = dataset.index_frame()
        self.groups = frame["subject_id"].to_numpy()
        self.labels = frame["label"].to_numpy().astype(np.int64)
        self.positions = frame["slice_index"].to_numpy().astype(np.int64)

    def __len__(self) -> int:
        return len(self.groups)

    def get(self, index: np.ndarray) -> np.ndarray:
        index = np.asarray(index, dtype=np.int64)
        order = np.argsort(index, kind="stable")
        out = None
        for k in order:
            image = np.asarray(self.dataset[int(index[k])].image, dtype=np.float32)
            if out is None:
                out = np.empty((len(index), *image.shape), dtype=np.float32)
            out[k] = image
        return out
