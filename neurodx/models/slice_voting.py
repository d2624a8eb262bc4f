"""Slice CNN(s) + voting: one label per volume (fMRI runs, CT scans).

A subject is a path to a volume (NIfTI, DICOM series, PNG/JPEG slices; read with
:func:`neurodx.io.volumes.read_volume`), a nibabel image, or an ndarray ``(x, y, z)``
/ ``(x, y, z, t)``, optionally paired with its ID (:mod:`neurodx.models.subjects`).
Images are reoriented to RAS+ (``canonical=True``) so ``slice_axis=2`` gives axial
slices; ndarrays are taken as they are. Slicing is
:class:`neurodx.preprocessing.slicing.VolumeSlicer`'s, the one implementation the
streaming :class:`~neurodx.preprocessing.slicing.SliceDataset` uses too. Every
volume has an intensity unit (:mod:`neurodx.io.units`: HU, display grey levels,
unknown); display images are scaled to [0, 1], the CT presets' transform is chosen by
the unit, and the model keeps the unit it was fit on (``input_unit_``).

Slice labels (``slice_labels``, a cohort's ``slices.tsv``: :mod:`neurodx.io.slice_labels`)
say what each slice of a training scan shows; most slices of a patient with a lesion
show none, and training them towards the patient's label teaches the network the
patient, not the lesion. They are read in ``fit`` for the training subjects only and
change what slices are trained towards; the decision stays one label per patient
(``voting="topk"``: the patient's most lesion-like slices decide).
"""
from __future__ import annotations

import os

import numpy as np

from .._logging import logger
from ..errors import ConfigError, RecordingError
from ..io.slice_labels import check_slice_labels, read_slice_labels
from ..io.units import (DISPLAY, INTENSITY_SETTINGS, UNKNOWN, describe_unit, display_full_scale,
                        resolve_unit, volume_unit)
from ..io.volumes import read_volume
from ..preprocessing.geometry import reorient_array
from ..preprocessing.intensity import CTIntensity, CTWindows, display_fraction
from ..preprocessing.slicing import NORMALIZATIONS, VolumeSlicer
from .items import SliceStackItems
from .peers import PlainCNN, ResNet18
from .shared_slice_cnn import SharedSliceCNN
from .slice_cnn import GLOBAL_POOLINGS, SliceCNN
from .slice_ensemble import PerPositionSliceEnsemble
from .voting import BACKGROUND_VOTING_METHODS
from .voting_estimator import VotingClassifierBase

__all__ = ["SliceVotingClassifier", "SLICE_MODES", "SLICE_ARCHITECTURES"]

#: ``architecture`` of :class:`SliceVotingClassifier` (peers: ``mode="pooled"`` only).
SLICE_ARCHITECTURES = ("neurodx", "resnet18", "plain")
#: ``mode`` of :class:`SliceVotingClassifier`.
SLICE_MODES = ("ensemble", "shared", "pooled")


def _read_volume_array(data, sid: str, canonical: bool) -> tuple[np.ndarray, str, float | None]:
    """A subject's voxels as float32 ``(x, y, z[, t])``, their unit and display full scale."""
    if isinstance(data, (str, os.PathLike)):
        data = read_volume(data)
    if hasattr(data, "dataobj") and hasattr(data, "affine"):
        arr = np.asarray(data.dataobj, dtype=np.float32)
        if canonical:
            arr = np.ascontiguousarray(reorient_array(arr, data.affine)[0])
        return arr, volume_unit(data), display_full_scale(data)
    if isinstance(data, np.ndarray) or hasattr(data, "__array__"):
        return np.asarray(data, dtype=np.float32), UNKNOWN, None
    raise RecordingError(sid, f"cannot read a volume from a {type(data).__name__} (expected a "
                              "path, a nibabel image or an ndarray)")


def _needs_unit(transform) -> bool:
    """Whether a slice transform means something only in one unit (HU windows)."""
    return isinstance(transform, (CTIntensity, CTWindows))


class SliceVotingClassifier(VotingClassifierBase):
    """Slice CNN(s) + voting: one label per volume (module docstring for inputs).

    Parameters
    ----------
    mode : {"ensemble", "shared", "pooled"}
        ``"ensemble"``: one CNN per slice position
        (:class:`~neurodx.models.PerPositionSliceEnsemble`, the fMRI study's 31
        networks); ``"shared"``: one CNN told the slice position
        (:class:`~neurodx.models.SharedSliceCNN`); ``"pooled"``: one
        :class:`~neurodx.models.SliceCNN` for every slice, position ignored (the CT
        study; subjects may have different numbers of slices).
    voting : {"hard", "soft", "logodds", "two_level", "topk"}
        How slice probabilities become a subject label (:mod:`neurodx.models.voting`).
        ``"two_level"``: each slice position's frames are majority-voted into one
        result per position, then the positions vote (the fMRI study's design for
        ``mode="ensemble"``); ``"hard"``: one flat majority vote over every slice
        and frame; ``"topk"``: the ``vote_k`` slices least like ``background_class``
        are soft-voted (lesion detection: a patient is normal when even its most
        lesion-like slices look normal).
    vote_k : int
        Slices that decide under ``voting="topk"``.
    background_class : str, optional
        The lesion-free class (e.g. ``"normal"``) for ``voting="topk"``; None: the one
        group that ``slice_labels`` gives to slices of patients of other groups, and
        without slice labels every slice votes (``"soft"``).
    slice_labels : path or mapping, optional
        What each slice of a training scan shows: a ``slices.tsv``
        (:mod:`neurodx.io.slice_labels`) or ``{subject_id: {slice_index: label}}``.
        Read in ``fit`` for the training subjects only (never at prediction, never
        for a test subject); listed slices are trained towards their own label,
        unlisted ones towards the patient's. Config: a cohort's ``slices.tsv`` is
        used when present (``volume.slice_labels``). Not saved with the model.
    pooling : {"avg", "max"}
        Global pooling of :class:`~neurodx.models.SliceCNN` (``mode="pooled"``);
        ``"max"`` keeps a small lesion's response.
    slice_axis : {0, 1, 2}
    slices : sequence of int, optional
        Slice indices to use (all by default); positions are their order.
    frames : sequence of int, optional
        Frames of 4-D volumes to use (all by default), then every ``frame_stride``-th.
    frame_stride : int
    canonical : bool
        Reorient nibabel images to RAS+ before slicing.
    normalize : {"frame", "voxel", None}
        ``"frame"``: z-score each 3-D frame; ``"voxel"``: z-score each voxel over time
        (4-D only); ``None``: as given (e.g. CT with ``transform``).
    transform : callable, optional
        Applied to each 2-D slice after normalisation, returning ``(H, W)`` or
        ``(C, H, W)``. :class:`neurodx.preprocessing.intensity.CTIntensity` (the CT
        presets) picks HU windows for scans in HU and the display path
        (:class:`~neurodx.preprocessing.intensity.GreyChannels`) for PNG/JPEG;
        :class:`~neurodx.preprocessing.intensity.CTWindows` applies HU windows and
        refuses display images.
    slice_shape : (int, int), optional
        Bring slices to this shape after the transform, keeping their aspect and
        padding with 0 (:func:`neurodx.preprocessing.geometry.fit_slice`), the same
        way for every subject; without it, every subject must have the in-plane
        shape seen at fit.
    intensity : {"auto", "hu", "display"}
        Unit of the voxel values (config key ``volume.intensity``; see
        :mod:`neurodx.io.units`). ``auto``: each scan's own (DICOM CT: HU;
        PNG/JPEG: display; NIfTI and arrays: HU when they hold air below -500 and
        the transform needs a unit). Display grey levels are always scaled to
        [0, 1] by their full scale (255, 65535).
    depth, width, growth, max_width, convs_per_stage, norm, dropout
        Network architecture (:class:`~neurodx.models.SliceCNN`).
    architecture : {"neurodx", "resnet18", "plain"}
        ``"neurodx"``: :class:`~neurodx.models.SliceCNN` (and its ensembles);
        the field's peers, trained from scratch with ``mode="pooled"``:
        ``"resnet18"`` (:class:`~neurodx.models.peers.ResNet18`, torchvision's
        architecture) or ``"plain"`` (:class:`~neurodx.models.peers.PlainCNN`). The
        ``depth`` ... ``dropout`` settings only apply to ``"neurodx"``.
    architecture_params : dict, optional
        Unused by the slice architectures (kept for symmetry with the EEG estimator).
    position_mode, position_dim
        How the shared network receives the position (``mode="shared"``).
    epochs, batch_size, lr, weight_decay, val_fraction, patience, class_weight, device, num_threads, eval_batch_size
        Training (:class:`~neurodx.models.TrainConfig`). ``eval_batch_size`` also
        caps the prediction batches, which are sized for the CPU's caches
        (:func:`~neurodx.models.inference.inference_batch_size`).
    inference_dtype : {"float32", "bfloat16"}
        Precision of ``predict``/``predict_proba`` (:mod:`neurodx.models.inference`).
        ``"bfloat16"`` is faster on CPUs with bfloat16 units but changes probabilities
        by ~1e-4: validate it on the trained model before use.
    augment : bool, dict, callable or None
        ``True``: :class:`~neurodx.models.SliceAugment` defaults; a dict of its options.
    random_state : int or None
        Seed of initialisation, inner split, shuffling, augmentation and dropout.
    progress : bool
        tqdm progress bar during training.
    checkpoint_dir : path, optional
        Checkpoints go to ``checkpoint_dir/run-<hash of data and parameters>/``.
    resume : bool
        Continue an interrupted run from its checkpoint.
    init_from : path, optional
        Fine-tune from a saved model directory or checkpoint (same architecture).
    freeze_features : bool
        Keep the convolutional layers of ``init_from`` fixed.
    callbacks : list, optional
        Passed to :func:`~neurodx.models.train_network`: objects with any of the
        training loop's events (:mod:`neurodx.models.callbacks`), called after the
        built-in early stopping, checkpoint, schedule, progress and logging.
    lr_schedule : {"constant", "cosine"}
        Learning-rate schedule of training (:class:`~neurodx.models.TrainConfig`).
    items_per_subject : int, optional
        Slices/windows drawn per training subject and epoch (all when None; see
        :class:`~neurodx.models.TrainConfig`).
    precise_bn : bool
        Re-estimate batch-norm statistics on training items before each validation
        (:class:`~neurodx.models.TrainConfig`).
    calibration : {"logistic", "temperature", None}
        Vote calibration (:class:`~neurodx.models.voting.VoteCalibration`): item
        probabilities are calibrated before the vote, fitted on the items of the
        inner validation subjects only (``val_subjects_``; needs ``val_fraction`` > 0
        and validation subjects of every class). ``None``: the network's own
        probabilities. Config key ``routes.<name>.calibration``.
    diagnostics : bool or dict
        After ``fit``, store random-matrix diagnostics of the network in
        ``diagnostics_`` (:func:`neurodx.models.diagnostics.network_diagnostics`:
        layer weight spectra with MP fits and tail exponents, Hessian top
        eigenvalues and density on training items); a dict sets its options
        (``hessian_seconds``, ``hessian_items``, ...). Config key
        ``routes.<name>.diagnostics``.

    Attributes
    ----------
    classes_, network_, history_, train_subjects_, val_subjects_, fit_subject_ids_
    input_shape_ : (C, H, W)
    n_positions_ : int or None
        Slice positions (``None`` for ``mode="pooled"``).
    input_unit_ : {"HU", "display", "unknown"}
        Intensity unit of the training scans; scans in another unit are refused.
    background_ : int or None
        Index of the background class in ``classes_`` (``voting="topk"``).
    n_slice_labels_ : int
        Training slices whose target came from ``slice_labels`` (0 without them).
    diagnostics_ : dict
        Only with ``diagnostics``: see that parameter (JSON-able).
    """

    _augment_kind = "slice"
    _tuple_params = ("slices", "frames", "slice_shape")

    def __init__(self, mode: str = "ensemble", voting: str = "hard", *, slice_axis: int = 2,
                 slices=None, frames=None, frame_stride: int = 1, canonical: bool = True,
                 normalize: str | None = "frame", transform=None, slice_shape=None,
                 intensity: str = "auto", depth: int = 4, width: int = 16,
                 growth: float = 2.0, max_width: int = 128,
                 convs_per_stage: int = 1, norm: str = "batch", dropout: float = 0.3,
                 position_mode: str = "embedding", position_dim: int = 8,
                 pooling: str = "avg", vote_k: int = 3, background_class=None,
                 slice_labels=None, **shared):
        super().__init__(**shared)
        self.mode = mode
        self.voting = voting
        self.slice_axis = slice_axis
        self.slices = slices
        self.frames = frames
        self.frame_stride = frame_stride
        self.canonical = canonical
        self.normalize = normalize
        self.transform = transform
        self.slice_shape = slice_shape
        self.intensity = intensity
        self.depth = depth
        self.width = width
        self.growth = growth
        self.max_width = max_width
        self.convs_per_stage = convs_per_stage
        self.norm = norm
        self.dropout = dropout
        self.position_mode = position_mode
        self.position_dim = position_dim
        self.pooling = pooling
        self.vote_k = vote_k
        self.background_class = background_class
        self.slice_labels = slice_labels

    def _check_params(self) -> None:
        super()._check_params()
        if self.mode not in SLICE_MODES:
            raise ConfigError(f"mode must be one of {', '.join(SLICE_MODES)}, got {self.mode!r}")
        if self.normalize not in NORMALIZATIONS:
            raise ConfigError(f"normalize must be one of {NORMALIZATIONS}, "
                              f"got {self.normalize!r}")
        if self.slice_axis not in (0, 1, 2):
            raise ConfigError(f"slice_axis must be 0, 1 or 2, got {self.slice_axis!r}")
        if self.intensity not in INTENSITY_SETTINGS:
            raise ConfigError(f"intensity must be one of {', '.join(INTENSITY_SETTINGS)}, "
                              f"got {self.intensity!r}")
        if self.architecture not in SLICE_ARCHITECTURES:
            raise ConfigError(f"architecture must be one of {', '.join(SLICE_ARCHITECTURES)}, "
                              f"got {self.architecture!r}")
        if self.architecture != "neurodx" and self.mode != "pooled":
            raise ConfigError(f"architecture {self.architecture!r} is one network for every "
                              "slice: set mode to pooled")
        if self.pooling not in GLOBAL_POOLINGS:
            raise ConfigError(f"pooling must be one of {', '.join(GLOBAL_POOLINGS)}, "
                              f"got {self.pooling!r}")
        if self.pooling != "avg" and (self.mode != "pooled" or self.architecture != "neurodx"):
            raise ConfigError("pooling: max applies to neurodx's network with mode pooled")
        if not isinstance(self.vote_k, (int, np.integer)) or self.vote_k < 1:
            raise ConfigError(f"vote_k must be an integer >= 1, got {self.vote_k!r}")

    def _reset_input(self) -> None:
        self.input_shape_ = None
        self.n_positions_ = None
        self.input_unit_ = None
        self.background_ = None
        self.n_slice_labels_ = 0
        self._first_subject = None

    def _input_spec(self) -> dict:
        return {"input_shape": list(self.input_shape_), "n_positions": self.n_positions_,
                "slice_axis": self.slice_axis, "item": "slice", "unit": self.input_unit_,
                "background": self.background_,
                "stack_layout": "(n_positions, n_frames, channels, height, width)"}

    def _set_input_spec(self, spec: dict) -> None:
        self.input_shape_ = tuple(spec["input_shape"])
        self.n_positions_ = spec["n_positions"]
        # Models saved before units were recorded have none: their scans are not compared.
        self.input_unit_ = spec.get("unit")
        self.background_ = spec.get("background")
        self._first_subject = None

    def _unit(self, found: str, vol: np.ndarray, sid: str) -> str:
        """The unit ``vol`` is processed in (see :func:`neurodx.io.units.resolve_unit`)."""
        # The air rule only where a transform needs a unit: fMRI z-scores whatever it gets.
        lowest = float(vol.min()) if _needs_unit(self.transform) and vol.size else None
        return resolve_unit(found, self.intensity, min_value=lowest, source=sid)

    def _slice_transform(self, unit: str, sid: str):
        """The transform for a scan in ``unit``: CTIntensity picks one; HU windows need HU."""
        if isinstance(self.transform, CTIntensity):
            return self.transform.for_unit(unit, source=sid)
        if isinstance(self.transform, CTWindows) and unit == DISPLAY:
            raise ConfigError(f"{sid}: Hounsfield windows on {describe_unit(unit)}: they would "
                              "saturate the grey levels; use the ct or ct_fast preset (it "
                              "scales grey levels to [0, 1] instead)")
        return self.transform

    def _slicer(self, transform) -> VolumeSlicer:
        """The slicing of this estimator (the same implementation streaming uses)."""
        return VolumeSlicer(self.slice_axis, slices=self.slices, frames=self.frames,
                            frame_stride=self.frame_stride, normalize=self.normalize,
                            transform=transform, slice_shape=self.slice_shape)

    def _prepare(self, data, sid: str, fitting: bool) -> np.ndarray:
        vol, found, full_scale = _read_volume_array(data, sid, self.canonical)
        unit = self._unit(found, vol, sid)
        first = fitting and self.input_shape_ is None
        ref_unit = (f"{self._first_subject}'s" if fitting and self._first_subject
                    else "the model's training scans")
        if not first and self.input_unit_ is not None and unit != self.input_unit_:
            raise RecordingError(sid, f"intensities are {describe_unit(unit)}, "
                                      f"{ref_unit} are {describe_unit(self.input_unit_)}: a "
                                      "model reads one unit (see volume.intensity)")
        if unit == DISPLAY:
            vol = display_fraction(vol, full_scale, source=sid)
        stack = self._slicer(self._slice_transform(unit, sid)).stack(vol, sid)
        shape, n_pos = tuple(stack.shape[2:]), stack.shape[0]
        if first:
            self.input_shape_ = shape
            self.n_positions_ = None if self.mode == "pooled" else n_pos
            self.input_unit_ = unit
            self._first_subject = sid
            return stack
        ref = (f"those of {self._first_subject}" if fitting and self._first_subject
               else "what the model was fit on")
        if shape != tuple(self.input_shape_):
            what = "in-plane shape" if shape[0] == self.input_shape_[0] else "channels x shape"
            raise RecordingError(sid, f"slices are {'x'.join(map(str, shape))} "
                                      f"(channels x height x width), {ref} are "
                                      f"{'x'.join(map(str, self.input_shape_))} ({what} "
                                      "differs; resample the volume or set slice_shape)")
        if self.n_positions_ is not None and n_pos != self.n_positions_:
            raise RecordingError(sid, f"{n_pos} slice positions along axis {self.slice_axis}, "
                                      f"{ref} have {self.n_positions_} (mode={self.mode!r} "
                                      "needs the same slice grid for every subject)")
        return stack

    # -- slice labels (training only) ------------------------------------------------------
    def _read_slice_labels(self, ids) -> tuple[dict, str]:
        """The slice labels of subjects ``ids`` only, and where they came from."""
        if isinstance(self.slice_labels, (str, os.PathLike)):
            return read_slice_labels(self.slice_labels, ids), str(self.slice_labels)
        wanted = set(ids)
        return ({str(sid): {int(k): str(v) for k, v in per.items()}
                 for sid, per in dict(self.slice_labels).items() if str(sid) in wanted},
                "slice_labels")

    def _fit_targets(self, items, ids, classes):
        """Slice targets from ``slice_labels`` (training subjects only) and ``background_``."""
        names = [str(c) for c in classes]
        labels, source = ({}, "") if self.slice_labels is None else self._read_slice_labels(ids)
        targets = None
        if labels:
            # A position is a slice index unless a subset of slices was chosen.
            slice_of = (np.arange(max(len(st) for st in items.stacks)) if self.slices is None
                        else np.asarray(self.slices))
            n_slices = {sid: len(st) for sid, st in zip(ids, items.stacks)} \
                if self.slices is None else {}
            check_slice_labels(labels, names, n_slices, source)
            index = {name: i for i, name in enumerate(names)}
            targets = np.asarray(items.labels, dtype=np.int64).copy()
            slice_index = slice_of[items.positions]
            for i, (sid, k) in enumerate(zip(items.groups, slice_index)):
                label = labels.get(str(sid), {}).get(int(k))
                if label is not None:
                    targets[i] = index[label]
            self.n_slice_labels_ = int(sum(len(v) for v in labels.values()))
        if self.voting in BACKGROUND_VOTING_METHODS:
            self.background_ = self._background(names, labels, items)
        return targets

    def _background(self, names, labels, items) -> int | None:
        """Index of the lesion-free class: ``background_class``, or the slice labels' one."""
        if self.background_class is not None:
            if str(self.background_class) not in names:
                raise ConfigError(f"background_class {self.background_class!r} is not one of "
                                  f"the groups {', '.join(names)} (routes.<name>."
                                  "background_class)")
            return names.index(str(self.background_class))
        group_of = dict(zip(map(str, items.groups), (names[i] for i in items.labels)))
        found = sorted({lab for sid, per in labels.items() for lab in per.values()
                        if lab != group_of.get(sid)})
        if not found:
            # Nothing says which class is lesion-free: every slice votes, as before slice labels.
            logger.info("voting topk: no background_class and no slice labels naming one; "
                        "every slice votes (soft)")
            return None
        if len(found) != 1:
            raise ConfigError(f"voting topk needs the lesion-free class: set "
                              f"routes.<name>.background_class to one of {', '.join(names)} "
                              f"(slice labels name {len(found)} candidates: "
                              f"{', '.join(found)}; a cohort's "
                              "slices.tsv names it), or routes.<name>.voting to soft")
        return names.index(found[0])

    def _vote_options(self) -> dict:
        if self.voting not in BACKGROUND_VOTING_METHODS:
            return {}
        if self.background_ is None:            # no lesion-free class known (see fit)
            return {"method": "soft"}
        return {"k": int(self.vote_k), "background": self.background_}

    def _items(self, arrays, ids, labels):
        return SliceStackItems(arrays, ids, labels)

    def _build_network(self, n_classes: int):
        arch = dict(input_size=self.input_shape_[1:], in_channels=self.input_shape_[0],
                    depth=self.depth, width=self.width, growth=self.growth,
                    max_width=self.max_width, convs_per_stage=self.convs_per_stage,
                    norm=self.norm, dropout=self.dropout)
        if self.pooling != "avg":
            arch["pooling"] = self.pooling
        if self.architecture == "resnet18":
            return ResNet18(n_classes, arch["input_size"], arch["in_channels"])
        if self.architecture == "plain":
            return PlainCNN(n_classes, arch["input_size"], arch["in_channels"])
        if self.mode == "ensemble":
            return PerPositionSliceEnsemble(n_classes, self.n_positions_, **arch)
        if self.mode == "shared":
            return SharedSliceCNN(n_classes, self.n_positions_, position_mode=self.position_mode,
                                  position_dim=self.position_dim, **arch)
        return SliceCNN(n_classes, **arch)
