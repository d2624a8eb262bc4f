"""Subject-level scikit-learn classifiers for the CNN routes.

:class:`SliceVotingClassifier` (fMRI / CT volumes) and :class:`WindowVotingClassifier`
(EEG) hide slicing/windowing, training and voting behind ``fit(subjects, y)``,
``predict(subjects)`` and ``predict_proba(subjects)``, so the comparison harness
treats a CNN route like any scikit-learn estimator (``clone``, ``cross_val_score``,
``GridSearchCV`` work; ``__init__`` only stores parameters).

What a *subject* is
-------------------
``subjects`` is a list with one entry per subject. An entry is either the data or
a pair ``(subject_id, data)``; ids can also be passed as ``subject_ids=``. Ids name
subjects in error messages and in :meth:`vote_details`, and are the units of the
inner validation split (the ids used are kept in ``train_subjects_`` and
``val_subjects_``). Without ids, a path's name is used, else ``"subject#<i>"``.

* Slices (:class:`SliceVotingClassifier`): a path to a volume (NIfTI, DICOM series,
  PNG/JPEG slices; read with :func:`neurodx.io.volumes.read_volume`), a nibabel
  image, or an ndarray ``(x, y, z)`` / ``(x, y, z, t)``. Images are reoriented to
  RAS+ (``canonical=True``) so ``slice_axis=2`` gives axial slices; ndarrays are
  taken as they are. Slice ``k`` is ``volume[:, :, k]`` (for ``slice_axis=2``), one
  item per selected slice and frame. Every volume has an intensity unit
  (:mod:`neurodx.io.units`: HU, display grey levels, unknown); display images are
  scaled to [0, 1], the CT presets' transform is chosen by the unit, and the
  model keeps the unit it was fit on (``input_unit_``).
* Windows (:class:`WindowVotingClassifier`): an :class:`mne.io.Raw` (its EEG
  channels), a path to an EEG file (read with :func:`neurodx.io.read_eeg`), or an
  ndarray ``(n_channels, n_times)`` at ``sfreq`` Hz. Windows of ``window`` seconds
  with ``overlap`` are the items.

Inputs are checked against what the model was fit on (intensity unit, in-plane
shape, number of slice positions, channels, sampling rate, length); a mismatch raises
:class:`~neurodx.errors.RecordingError` naming the subject.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets

from .. import __version__
from .._json import jsonable as _jsonable
from ..errors import ConfigError, NeurodxError, RecordingError
from ..io.volumes import read_volume
from ..io.units import (DISPLAY, INTENSITY_SETTINGS, UNKNOWN, describe_unit, display_full_scale,
                        resolve_unit, volume_unit)
from ..preprocessing.intensity import CTIntensity, CTWindows, display_fraction
from .augmentation import WindowAugment, make_augment
from .checkpoint import load_network, read_manifest, save_network
from .eeg_window_cnn import EEGWindowCNN, min_input_samples
from .inference import INFERENCE_DTYPES, InferenceNetwork
from .items import SliceStackItems, WindowItems
from .peers import BRAINDECODE_MODELS, BraindecodeNetwork, PlainCNN, ResNet18
from .shared_slice_cnn import SharedSliceCNN
from .slice_cnn import SliceCNN
from .slice_ensemble import PerPositionSliceEnsemble
from .training import (TrainConfig, TrainResult, predict_items, resolve_device, seeded_network,
                       torch_session, train_network)
from .voting import CALIBRATION_METHODS, POSITION_VOTING_METHODS, VOTING_METHODS, \
    VoteCalibration, vote

__all__ = ["SliceVotingClassifier", "WindowVotingClassifier", "load_estimator", "SLICE_MODES"]

#: ``architecture`` of :class:`SliceVotingClassifier` (peers: ``mode="pooled"`` only).
SLICE_ARCHITECTURES = ("neurodx", "resnet18", "plain")
#: ``architecture`` of :class:`WindowVotingClassifier`: neurodx's network or braindecode's.
WINDOW_ARCHITECTURES = ("neurodx", *BRAINDECODE_MODELS)
#: ``mode`` of :class:`SliceVotingClassifier`.
SLICE_MODES = ("ensemble", "shared", "pooled")
_SLICE_NORMALIZATIONS = (None, "frame", "voxel")
_TRAIN_PARAMS = ("epochs", "batch_size", "lr", "weight_decay", "val_fraction", "patience",
                 "class_weight", "device", "num_threads", "progress", "eval_batch_size",
                 "resume", "lr_schedule", "items_per_subject", "precise_bn")
# Parameters that do not change what is learnt (left out of the checkpoint run name).
_RUNTIME_PARAMS = {"device", "num_threads", "progress", "eval_batch_size", "inference_dtype",
                   "resume",
                   "checkpoint_dir", "callbacks", "diagnostics"}


# ---------------------------------------------------------------------------- helpers
def _default_id(data, i: int) -> tuple[str, bool]:
    if isinstance(data, (str, os.PathLike)):
        return Path(data).name, True
    filenames = getattr(data, "filenames", None)           # mne Raw
    if filenames and filenames[0] is not None:
        return Path(filenames[0]).name, True
    get_filename = getattr(data, "get_filename", None)      # nibabel image
    if callable(get_filename) and get_filename():
        return Path(get_filename()).name, True
    return f"subject#{i}", False


def _entries(subjects, subject_ids=None) -> tuple[list[str], list, bool]:
    """Split ``subjects`` into ids and data; says whether every id is a real name."""
    if isinstance(subjects, (str, os.PathLike)) or hasattr(subjects, "dataobj") \
            or hasattr(subjects, "info"):
        raise ConfigError("subjects must be a list with one entry per subject, got a single "
                          f"{type(subjects).__name__}")
    subjects = list(subjects)
    if subject_ids is not None:
        subject_ids = [str(s) for s in subject_ids]
        if len(subject_ids) != len(subjects):
            raise ConfigError(f"{len(subject_ids)} subject_ids for {len(subjects)} subjects")
    ids, data, explicit = [], [], True
    for i, entry in enumerate(subjects):
        sid = None
        if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
            sid, entry = entry
        if subject_ids is not None:
            sid = subject_ids[i]
        elif sid is None:
            sid, real = _default_id(entry, i)
            explicit &= real
        ids.append(str(sid))
        data.append(entry)
    seen = set()
    dupes = sorted({s for s in ids if s in seen or seen.add(s)})
    if dupes:
        raise ConfigError(f"subject ids must be unique; repeated: {', '.join(dupes[:5])}")
    return ids, data, explicit


# ---------------------------------------------------------------------------- base class
class _VotingClassifier(ClassifierMixin, BaseEstimator):
    """Shared fit / predict / vote / save machinery (see the module docstring)."""

    _augment_kind = "slice"
    _tuple_params: tuple[str, ...] = ()

    # -- to implement ------------------------------------------------------------------
    def _reset_input(self) -> None:
        raise NotImplementedError

    def _prepare(self, data, sid: str, fitting: bool) -> np.ndarray:
        raise NotImplementedError

    def _items(self, arrays, ids, labels):
        raise NotImplementedError

    def _build_network(self, n_classes: int):
        raise NotImplementedError

    def _input_spec(self) -> dict:
        raise NotImplementedError

    def _set_input_spec(self, spec: dict) -> None:
        raise NotImplementedError

    def _augmenter(self):
        return make_augment(self.augment, self._augment_kind)

    # -- sklearn API -----------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.voting not in VOTING_METHODS:
            raise ConfigError(f"voting must be one of {', '.join(VOTING_METHODS)}, "
                              f"got {self.voting!r}")
        if not isinstance(self.diagnostics, (bool, dict)):
            raise ConfigError("diagnostics must be true, false or a mapping of options "
                              f"(hessian_seconds, hessian_items, ...), got {self.diagnostics!r}")
        if self.inference_dtype not in INFERENCE_DTYPES:
            raise ConfigError(f"inference_dtype must be one of {', '.join(INFERENCE_DTYPES)}, "
                              f"got {self.inference_dtype!r}")
        if self.calibration is not None and self.calibration not in CALIBRATION_METHODS:
            raise ConfigError(f"calibration must be one of {', '.join(CALIBRATION_METHODS)} "
                              f"or null (routes.<name>.calibration), got {self.calibration!r}")
        if self.calibration is not None and not self.val_fraction > 0:
            raise ConfigError("calibration is fitted on the inner validation subjects: set "
                              "routes.<name>.val_fraction above 0, or calibration to null")
        if self.freeze_features and self.init_from is None:
            raise ConfigError("freeze_features: true needs init_from, a trained model to "
                              "fine-tune (routes.<name>.init_from in the config)")

    def _seed(self) -> int:
        if self.random_state is None:
            return int(np.random.SeedSequence().entropy % (2 ** 31))
        if isinstance(self.random_state, (int, np.integer)):
            return int(self.random_state)
        raise ConfigError("random_state must be an int or None (a numpy Generator cannot be "
                          "stored in a checkpoint)")

    def _checkpoint_dir(self, ids, y) -> Path | None:
        if self.checkpoint_dir is None:
            return None
        params = {k: v for k, v in self.get_params(deep=False).items()
                  if k not in _RUNTIME_PARAMS}
        key = json.dumps({"params": repr(sorted(params.items())), "ids": ids,
                          "y": [str(v) for v in y]}, sort_keys=True)
        return Path(self.checkpoint_dir) / f"run-{hashlib.sha1(key.encode()).hexdigest()[:12]}"

    def fit(self, subjects, y, subject_ids: Sequence[str] | None = None):
        """Train on ``subjects`` (see the module docstring) with labels ``y``.

        Returns
        -------
        self
        """
        self._check_params()
        ids, data, explicit = _entries(subjects, subject_ids)
        y = np.asarray(y)
        if y.shape != (len(ids),):
            raise ConfigError(f"y must have one label per subject ({len(ids)}), "
                              f"got shape {y.shape}")
        check_classification_targets(y)
        classes, y_idx = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ConfigError(f"need at least two classes, got {classes.tolist()}")
        self._reset_input()
        arrays = [self._prepare(d, sid, fitting=True) for d, sid in zip(data, ids)]
        items = self._items(arrays, ids, y_idx)
        seed = self._seed()
        network = seeded_network(lambda: self._build_network(len(classes)), seed)
        config = TrainConfig(seed=seed, checkpoint_dir=self._checkpoint_dir(ids, y),
                             **{k: getattr(self, k) for k in _TRAIN_PARAMS})
        result = train_network(network, items, config, augment=self._augmenter(),
                               init_from=self.init_from, freeze_features=self.freeze_features,
                               callbacks=self.callbacks or ())
        self.calibration_ = self._fit_calibration(network, items, result, config)
        self.network_ = network.to("cpu").eval()
        self.classes_ = classes
        self.seed_ = seed
        self.training_ = result
        self.history_ = result.history
        self.train_subjects_ = list(result.train_subjects)
        self.val_subjects_ = list(result.val_subjects)
        self.fit_subject_ids_ = list(ids)
        self.fit_ids_are_names_ = bool(explicit)
        self.__dict__.pop("diagnostics_", None)      # never keep a previous fit's
        if self.diagnostics:
            self.diagnostics_ = self._diagnose(items, result.train_subjects)
        return self

    def _fit_calibration(self, network, items, result, config) -> VoteCalibration | None:
        """Vote calibration on the items of the inner validation subjects only (no test data)."""
        if self.calibration is None:
            return None
        groups = np.asarray(items.groups)
        val = np.flatnonzero(np.isin(groups, np.asarray(result.val_subjects, dtype=groups.dtype)))
        labels = np.asarray(items.labels)[val]
        if np.unique(labels).size < 2:
            raise ConfigError(f"calibration: the inner validation subjects cover one class only "
                              f"({len(result.val_subjects)} subjects); raise "
                              "routes.<name>.val_fraction or set calibration to null")
        device = resolve_device(self.device)
        with torch_session(config.seed, self.num_threads, deterministic=False, device=device):
            proba = predict_items(network, items, index=val, batch_size=self.eval_batch_size,
                                  device=device)
        return VoteCalibration(self.calibration).fit(proba, labels, groups[val])

    def _diagnose(self, items, train_subjects) -> dict:
        """RMT diagnostics of the fitted network (``diagnostics=True``), on training items only."""
        from .diagnostics import network_diagnostics

        options = self.diagnostics if isinstance(self.diagnostics, dict) else None
        groups = np.asarray(items.groups)
        train = np.flatnonzero(np.isin(groups, np.asarray(train_subjects, dtype=groups.dtype)))
        with torch_session(self.seed_, self.num_threads, deterministic=True,
                           device=resolve_device("cpu")):
            return network_diagnostics(self.network_, items, train, seed=self.seed_,
                                       class_weight=self.class_weight, options=options)

    def _check_fitted(self):
        if not hasattr(self, "network_"):
            from sklearn.exceptions import NotFittedError
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit "
                                 "or load a saved model")

    def _votes(self, subjects, subject_ids=None):
        self._check_fitted()
        ids, data, explicit = _entries(subjects, subject_ids)
        if not ids:
            raise ConfigError("no subjects to predict")
        device = resolve_device(self.device)
        probas, groups, positions = [], [], []
        # One inference copy for all subjects (batch norm folded, channels_last, dtype).
        network = InferenceNetwork(self.network_, self.inference_dtype)
        with torch_session(self.seed_, self.num_threads, deterministic=False, device=device):
            for i, (d, sid) in enumerate(zip(data, ids)):
                items = self._items([self._prepare(d, sid, fitting=False)], [sid], None)
                if len(items) == 0:
                    raise RecordingError(sid, "no slices/windows to classify")
                probas.append(predict_items(network, items, batch_size=self.eval_batch_size,
                                            device=device))
                groups.append(np.full(len(items), i))
                positions.append(items.positions)
        probas = np.concatenate(probas)
        if getattr(self, "calibration_", None) is not None:
            probas = self.calibration_.transform(probas)
        votes = vote(probas, np.concatenate(groups), self.voting,
                     positions=None if self.voting not in POSITION_VOTING_METHODS
                     else np.concatenate(positions))
        return ids, explicit, votes

    def predict_proba(self, subjects, subject_ids: Sequence[str] | None = None) -> np.ndarray:
        """Subject-level class probabilities ``(n_subjects, n_classes)`` (``classes_`` order).

        Hard voting gives vote fractions; soft voting the mean item probability;
        log-odds voting the renormalised sigmoid of the mean item log-odds; two-level
        voting the fractions of slice positions won by each class.
        """
        return self._votes(subjects, subject_ids)[2].proba

    def predict(self, subjects, subject_ids: Sequence[str] | None = None) -> np.ndarray:
        """One label per subject (vote winner; ties broken as in :mod:`neurodx.models.voting`)."""
        votes = self._votes(subjects, subject_ids)[2]
        return self.classes_[votes.predicted]

    def vote_details(self, subjects, subject_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per subject: prediction, margin, tie flag, votes and probability per class.

        Column ``seen_in_training`` says whether the subject id was among the
        subjects the model was fit on (``None`` when either side has positional ids).
        """
        ids, explicit, votes = self._votes(subjects, subject_ids)
        frame = votes.to_frame(self.classes_.tolist())
        frame["subject"] = ids
        if explicit and self.fit_ids_are_names_:
            fit_ids = set(self.fit_subject_ids_)
            frame["seen_in_training"] = [s in fit_ids for s in ids]
        else:
            frame["seen_in_training"] = None
        return frame

    # -- persistence ---------------------------------------------------------------------
    def _saved_params(self) -> dict:
        out = {}
        for key, value in self.get_params(deep=False).items():
            if key == "callbacks":
                out[key] = None
            elif key == "augment" and callable(value) and not isinstance(value, bool):
                out[key] = None          # only used for training
            elif key == "transform":
                out[key] = _encode_transform(value)
            else:
                try:
                    out[key] = _jsonable(value)
                except TypeError:
                    raise ConfigError(f"cannot save parameter {key}={value!r}: not "
                                      "JSON-serialisable") from None
        return out

    def save(self, directory: str | Path) -> Path:
        """Write the fitted model to ``directory``: ``manifest.json`` + ``model.safetensors``.

        The manifest holds the estimator's parameters, the classes, the input
        conventions checked at prediction, and the training record (history,
        training and validation subjects). No pickle is involved.
        """
        self._check_fitted()
        return save_network(
            directory, self.network_, estimator=type(self).__name__,
            neurodx_version=__version__, estimator_params=self._saved_params(),
            classes=_jsonable(self.classes_.tolist()), input=_jsonable(self._input_spec()),
            seed=self.seed_, training=_jsonable(self.training_.to_dict()),
            fit_subject_ids=self.fit_subject_ids_, fit_ids_are_names=self.fit_ids_are_names_,
            calibration=(None if getattr(self, "calibration_", None) is None
                         else _jsonable(self.calibration_.to_dict())))

    @classmethod
    def load(cls, directory: str | Path):
        """Rebuild a fitted estimator saved with :meth:`save`."""
        manifest = read_manifest(directory)
        name = manifest.get("estimator")
        if name != cls.__name__:
            raise NeurodxError(f"{directory}: holds a {name}, not a {cls.__name__}")
        network, manifest = load_network(directory)
        params = dict(manifest["estimator_params"])
        for key in cls._tuple_params:
            if isinstance(params.get(key), list):
                params[key] = tuple(params[key])
        if "transform" in params:
            params["transform"] = _decode_transform(params["transform"])
        est = cls(**params)
        est.network_ = network
        est.classes_ = np.asarray(manifest["classes"])
        est.seed_ = manifest["seed"]
        est.training_ = TrainResult(**manifest["training"])
        est.history_ = est.training_.history
        est.train_subjects_ = list(est.training_.train_subjects)
        est.val_subjects_ = list(est.training_.val_subjects)
        est.fit_subject_ids_ = manifest["fit_subject_ids"]
        est.fit_ids_are_names_ = manifest["fit_ids_are_names"]
        spec = manifest.get("calibration")
        est.calibration_ = None if spec is None else VoteCalibration.from_dict(spec)
        est._set_input_spec(manifest["input"])
        return est


_TRANSFORMS = {"CTWindows": CTWindows, "CTIntensity": CTIntensity}


def _encode_transform(transform):
    if transform is None:
        return None
    if type(transform) in _TRANSFORMS.values():
        return {"type": type(transform).__name__, "windows": _jsonable(list(transform.windows))}
    raise ConfigError(f"cannot save transform {transform!r}: only CTIntensity, CTWindows (or "
                      "None) is stored in a model directory")


def _decode_transform(spec):
    if spec is None:
        return None
    if isinstance(spec, dict) and spec.get("type") in _TRANSFORMS:
        return _TRANSFORMS[spec["type"]]([w if isinstance(w, str) else tuple(w)
                                          for w in spec["windows"]])
    raise NeurodxError(f"unknown transform in manifest: {spec!r}")


def load_estimator(directory: str | Path):
    """Load a saved :class:`SliceVotingClassifier` or :class:`WindowVotingClassifier`."""
    name = read_manifest(directory).get("estimator")
    classes = {c.__name__: c for c in (SliceVotingClassifier, WindowVotingClassifier)}
    if name not in classes:
        raise NeurodxError(f"{directory}: not a saved neurodx estimator (estimator={name!r})")
    return classes[name].load(directory)


# ---------------------------------------------------------------------------- slices
def _read_volume_array(data, sid: str, canonical: bool) -> tuple[np.ndarray, str, float | None]:
    """A subject's voxels as float32 ``(x, y, z[, t])``, their unit and display full scale."""
    if isinstance(data, (str, os.PathLike)):
        data = read_volume(data)
    if hasattr(data, "dataobj") and hasattr(data, "affine"):
        arr = np.asarray(data.dataobj, dtype=np.float32)
        if canonical:
            from ..preprocessing.geometry import reorient_array
            arr = np.ascontiguousarray(reorient_array(arr, data.affine)[0])
        return arr, volume_unit(data), display_full_scale(data)
    if isinstance(data, np.ndarray) or hasattr(data, "__array__"):
        return np.asarray(data, dtype=np.float32), UNKNOWN, None
    raise RecordingError(sid, f"cannot read a volume from a {type(data).__name__} (expected a "
                              "path, a nibabel image or an ndarray)")


def _needs_unit(transform) -> bool:
    """Whether a slice transform means something only in one unit (HU windows)."""
    return isinstance(transform, (CTIntensity, CTWindows))


class SliceVotingClassifier(_VotingClassifier):
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
    voting : {"hard", "soft", "logodds", "two_level"}
        How slice probabilities become a subject label (:mod:`neurodx.models.voting`).
        ``"two_level"``: each slice position's frames are majority-voted into one
        result per position, then the positions vote (the fMRI study's design for
        ``mode="ensemble"``); ``"hard"``: one flat majority vote over every slice
        and frame.
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
        Passed to :func:`~neurodx.models.train_network`.
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
                 epochs: int = 30, batch_size: int = 64, lr: float = 1e-3,
                 weight_decay: float = 1e-4, val_fraction: float = 0.2, patience: int | None = 10,
                 class_weight: str | None = "balanced", augment=True, device: str = "auto",
                 num_threads: int | None = None, random_state: int | None = 0,
                 progress: bool = True, eval_batch_size: int = 256,
                 inference_dtype: str = "float32", checkpoint_dir=None,
                 resume: bool = True, init_from=None, freeze_features: bool = False,
                 callbacks=None, diagnostics=False, lr_schedule: str = "constant",
                 calibration: str | None = None, architecture: str = "neurodx",
                 architecture_params: dict | None = None, items_per_subject: int | None = None,
                 precise_bn: bool = False):
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
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.val_fraction = val_fraction
        self.patience = patience
        self.class_weight = class_weight
        self.augment = augment
        self.device = device
        self.num_threads = num_threads
        self.random_state = random_state
        self.progress = progress
        self.eval_batch_size = eval_batch_size
        self.inference_dtype = inference_dtype
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.init_from = init_from
        self.freeze_features = freeze_features
        self.callbacks = callbacks
        self.diagnostics = diagnostics
        self.lr_schedule = lr_schedule
        self.calibration = calibration
        self.architecture = architecture
        self.architecture_params = architecture_params
        self.items_per_subject = items_per_subject
        self.precise_bn = precise_bn

    def _check_params(self) -> None:
        super()._check_params()
        if self.mode not in SLICE_MODES:
            raise ConfigError(f"mode must be one of {', '.join(SLICE_MODES)}, got {self.mode!r}")
        if self.normalize not in _SLICE_NORMALIZATIONS:
            raise ConfigError(f"normalize must be one of {_SLICE_NORMALIZATIONS}, "
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

    def _reset_input(self) -> None:
        self.input_shape_ = None
        self.n_positions_ = None
        self.input_unit_ = None
        self._first_subject = None

    def _input_spec(self) -> dict:
        return {"input_shape": list(self.input_shape_), "n_positions": self.n_positions_,
                "slice_axis": self.slice_axis, "item": "slice", "unit": self.input_unit_,
                "stack_layout": "(n_positions, n_frames, channels, height, width)"}

    def _set_input_spec(self, spec: dict) -> None:
        self.input_shape_ = tuple(spec["input_shape"])
        self.n_positions_ = spec["n_positions"]
        # Models saved before units were recorded have none: their scans are not compared.
        self.input_unit_ = spec.get("unit")
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

    def _stack(self, vol: np.ndarray, sid: str, transform=None) -> np.ndarray:
        """``(n_positions, n_frames, C, H, W)`` float32 slices of one subject's volume."""
        from ..preprocessing.slicing import frame_indices

        if vol.ndim not in (3, 4):
            raise RecordingError(sid, f"expected a 3-D or 4-D volume, got shape {vol.shape}")
        if not np.all(np.isfinite(vol)):
            raise RecordingError(sid, "volume contains NaN or infinite values")
        if vol.ndim == 3:
            vol = vol[..., None]
        n_frames = vol.shape[3]
        try:
            frames = frame_indices(n_frames, self.frames, self.frame_stride) if n_frames > 1 \
                else np.array([0])
        except ConfigError as err:
            raise RecordingError(sid, str(err)) from None
        if self.normalize == "voxel":
            if n_frames < 2:
                raise RecordingError(sid, "normalize='voxel' z-scores each voxel over time "
                                          f"and needs a 4-D volume; got shape {vol.shape[:3]}")
            from ..preprocessing.intensity import zscore_voxels
            vol = zscore_voxels(vol)[..., frames]
        elif not np.array_equal(frames, np.arange(n_frames)):   # all frames: no copy
            vol = vol[..., frames]
        # Per-frame z-score applied to the stack in place below (one copy of the volume,
        # not three); the statistics are zscore_frames' own, so the values are the same.
        frame_stats = None
        if self.normalize == "frame":
            from ..preprocessing.intensity import frame_statistics
            frame_stats = frame_statistics(vol)
        n_slices = vol.shape[self.slice_axis]
        positions = np.arange(n_slices) if self.slices is None else np.asarray(self.slices, int)
        bad = positions[(positions < 0) | (positions >= n_slices)]
        if bad.size:
            raise RecordingError(sid, f"slice indices {bad[:5].tolist()} out of range: the "
                                      f"volume has {n_slices} slices along axis "
                                      f"{self.slice_axis}")
        # (position, frame, H, W): slicing axis first, frames second, in-plane axes kept in order.
        planes = np.moveaxis(vol, (self.slice_axis, 3), (0, 1))
        planes = np.array(planes if self.slices is None else planes[positions],
                          dtype=np.float32, order="C")      # the one copy
        if frame_stats is not None:
            mean, std = frame_stats
            planes -= mean[None, :, None, None]
            planes /= std[None, :, None, None]
        if transform is None and self.slice_shape is None:
            return planes[:, :, None]
        from ..preprocessing.geometry import fit_slice
        out = []
        for p in range(planes.shape[0]):
            row = []
            for f in range(planes.shape[1]):
                img = planes[p, f]
                if transform is not None:
                    img = transform(img)
                img = np.asarray(img, dtype=np.float32)
                img = img[None] if img.ndim == 2 else img
                # After the transform, so padding is 0 in the network's units (black).
                if self.slice_shape is not None:
                    img = fit_slice(img, self.slice_shape)
                row.append(img)
            out.append(np.stack(row))
        return np.ascontiguousarray(np.stack(out), dtype=np.float32)

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
        stack = self._stack(vol, sid, self._slice_transform(unit, sid))
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

    def _items(self, arrays, ids, labels):
        return SliceStackItems(arrays, ids, labels)

    def _build_network(self, n_classes: int):
        arch = dict(input_size=self.input_shape_[1:], in_channels=self.input_shape_[0],
                    depth=self.depth, width=self.width, growth=self.growth,
                    max_width=self.max_width, convs_per_stage=self.convs_per_stage,
                    norm=self.norm, dropout=self.dropout)
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


# ---------------------------------------------------------------------------- windows
class WindowVotingClassifier(_VotingClassifier):
    """EEG window CNN + voting: one label per recording (module docstring for inputs).

    Parameters
    ----------
    voting : {"hard", "soft", "logodds"}
    sfreq : float, optional
        The sampling rate the network works at. :class:`mne.io.Raw` and file
        subjects at another rate are resampled to it with MNE
        (:meth:`mne.io.Raw.resample`), one recording at a time inside ``fit`` and
        ``predict`` (nothing is fitted, so nothing leaks between subjects); array
        subjects are taken as sampled at it. ``None``: the rate of the first
        training recording, to which later recordings are resampled.
    window : float
        Window length in seconds; at ``sfreq`` it must give at least
        :meth:`min_window_samples` samples (checked in ``fit``; :meth:`check_window`).
    overlap : float
        Fraction of overlap of consecutive windows, in ``[0, 1)``.
    normalize : {"channel", None}
        ``"channel"``: z-score each channel over the whole recording (EEG in volts
        becomes unit-free); ``None``: as given.
    n_filters_time, n_filters_spat, filter_time_length, block_filters, filter_length, pool_length, pool_stride, dropout, block_padding
        Network (:class:`~neurodx.models.EEGWindowCNN`; default: the 7-layer network).
    architecture : {"neurodx", "ShallowFBCSPNet", "Deep4Net", "EEGNet"}
        ``"neurodx"``: :class:`~neurodx.models.EEGWindowCNN`; otherwise braindecode's
        network of that name (:class:`~neurodx.models.peers.BraindecodeNetwork`,
        optional ``braindecode`` extra), trained by the same engine and voted the
        same way. The network settings above only apply to ``"neurodx"``.
    architecture_params : dict, optional
        Keyword arguments of the braindecode class (e.g. ``{"drop_prob": 0.5}``).
    augment : bool, dict, callable or None
        ``True``: :class:`~neurodx.models.WindowAugment` with shifts up to 5 % of a
        window, 10 % channel dropout, 10 % amplitude jitter; a dict of its options.
    other parameters
        As for :class:`SliceVotingClassifier`.

    Attributes
    ----------
    classes_, network_, history_, train_subjects_, val_subjects_, fit_subject_ids_
    sfreq_ : float
    n_channels_ : int
    ch_names_ : list of str or None
        Channel order (from the first :class:`mne.io.Raw`); later Raw subjects are
        re-ordered by name, and refused if a channel is missing.
    window_samples_, step_samples_ : int
    diagnostics_ : dict
        Only with ``diagnostics`` (as for :class:`SliceVotingClassifier`).
    """

    _augment_kind = "window"
    _tuple_params = ("block_filters",)

    def __init__(self, voting: str = "hard", *, sfreq: float | None = None, window: float = 2.0,
                 overlap: float = 0.5, normalize: str | None = "channel",
                 n_filters_time: int = 25, n_filters_spat: int = 25,
                 filter_time_length: int = 10, block_filters=(50, 100, 200, 200),
                 filter_length: int = 10, pool_length: int = 3, pool_stride: int = 3,
                 dropout: float = 0.5, block_padding: str = "same",
                 epochs: int = 30, batch_size: int = 64, lr: float = 1e-3,
                 weight_decay: float = 1e-4, val_fraction: float = 0.2, patience: int | None = 10,
                 class_weight: str | None = "balanced", augment=True, device: str = "auto",
                 num_threads: int | None = None, random_state: int | None = 0,
                 progress: bool = True, eval_batch_size: int = 256,
                 inference_dtype: str = "float32", checkpoint_dir=None,
                 resume: bool = True, init_from=None, freeze_features: bool = False,
                 callbacks=None, diagnostics=False, lr_schedule: str = "constant",
                 calibration: str | None = None, architecture: str = "neurodx",
                 architecture_params: dict | None = None, items_per_subject: int | None = None,
                 precise_bn: bool = False):
        self.voting = voting
        self.sfreq = sfreq
        self.window = window
        self.overlap = overlap
        self.normalize = normalize
        self.n_filters_time = n_filters_time
        self.n_filters_spat = n_filters_spat
        self.filter_time_length = filter_time_length
        self.block_filters = block_filters
        self.filter_length = filter_length
        self.pool_length = pool_length
        self.pool_stride = pool_stride
        self.dropout = dropout
        self.block_padding = block_padding
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.val_fraction = val_fraction
        self.patience = patience
        self.class_weight = class_weight
        self.augment = augment
        self.device = device
        self.num_threads = num_threads
        self.random_state = random_state
        self.progress = progress
        self.eval_batch_size = eval_batch_size
        self.inference_dtype = inference_dtype
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.init_from = init_from
        self.freeze_features = freeze_features
        self.callbacks = callbacks
        self.diagnostics = diagnostics
        self.lr_schedule = lr_schedule
        self.calibration = calibration
        self.architecture = architecture
        self.architecture_params = architecture_params
        self.items_per_subject = items_per_subject
        self.precise_bn = precise_bn

    def _check_params(self) -> None:
        super()._check_params()
        if not self.window > 0:
            raise ConfigError(f"window must be positive (seconds), got {self.window}")
        if not 0 <= self.overlap < 1:
            raise ConfigError(f"overlap must be in [0, 1), got {self.overlap}")
        if self.normalize not in ("channel", None):
            raise ConfigError(f"normalize must be 'channel' or None, got {self.normalize!r}")
        if self.voting in POSITION_VOTING_METHODS:
            raise ConfigError(f"voting={self.voting!r} votes per slice position; EEG windows "
                              "have none: use hard, soft or logodds")
        if self.architecture not in WINDOW_ARCHITECTURES:
            raise ConfigError(f"architecture must be one of {', '.join(WINDOW_ARCHITECTURES)}, "
                              f"got {self.architecture!r}")
        if self.sfreq is not None:
            self.check_window(self.sfreq)

    def _augmenter(self):
        if self.augment is True:
            return WindowAugment(max_shift=int(round(0.05 * self.window_samples_)))
        return make_augment(self.augment, "window")

    def _reset_input(self) -> None:
        self.sfreq_ = None
        self.n_channels_ = None
        self.ch_names_ = None
        self.window_samples_ = None
        self.step_samples_ = None
        self._first_subject = None

    def _input_spec(self) -> dict:
        return {"sfreq": self.sfreq_, "n_channels": self.n_channels_, "ch_names": self.ch_names_,
                "window_samples": self.window_samples_, "step_samples": self.step_samples_,
                "item": "window", "layout": "(n_channels, n_times)"}

    def _set_input_spec(self, spec: dict) -> None:
        self.sfreq_ = spec["sfreq"]
        self.n_channels_ = spec["n_channels"]
        self.ch_names_ = spec["ch_names"]
        self.window_samples_ = spec["window_samples"]
        self.step_samples_ = spec["step_samples"]
        self._first_subject = None

    def _target_sfreq(self) -> float | None:
        """The rate the network works at: ``sfreq``, else the first training recording's."""
        return float(self.sfreq) if self.sfreq is not None else self.sfreq_

    def min_window_samples(self) -> int:
        """The fewest samples per window the network's convolution/pooling stack accepts."""
        return min_input_samples(self.filter_time_length, len(self.block_filters),
                                 self.filter_length, self.pool_length, self.pool_stride,
                                 self.block_padding)

    def check_window(self, sfreq: float, setting: str = "window") -> int:
        """Samples per window at ``sfreq`` Hz, checked against the network's receptive field.

        Parameters
        ----------
        sfreq : float
            The rate the network will see (``sfreq`` when set).
        setting : str
            How the user sets ``window``, named in the error (the comparison passes
            ``routes.<name>.window``).

        Raises
        ------
        ConfigError
            When a window is shorter than :meth:`min_window_samples`.
        """
        if self.sfreq is not None:
            sfreq = float(self.sfreq)
        n = int(round(self.window * sfreq))
        if self.architecture != "neurodx":
            return n          # braindecode's networks check their input when built
        need = self.min_window_samples()
        if n < need:
            seconds = math.ceil(need / sfreq * 100) / 100
            raise ConfigError(f"{setting}: {self.window:g}-s windows are {n} samples at "
                              f"{sfreq:g} Hz, fewer than the {need} samples the network's "
                              f"convolution and pooling layers need; set {setting} to at "
                              f"least {seconds:g} (seconds)")
        return n

    def _read(self, data, sid: str) -> tuple[np.ndarray, float, list | None]:
        """EEG channels, their rate and names (None for arrays); Raw resampled to the target."""
        import mne

        if isinstance(data, (str, os.PathLike)):
            from ..io import pick_eeg_channels, read_eeg
            data, _ = pick_eeg_channels(read_eeg(data))
        if isinstance(data, mne.io.BaseRaw):
            picks = mne.pick_types(data.info, eeg=True, exclude=[])
            if len(picks) == 0:
                raise RecordingError(sid, "no EEG channels in the recording")
            target = self._target_sfreq()
            if target is not None and float(data.info["sfreq"]) != target:
                # MNE's FFT resampling with its anti-aliasing window, on this recording
                # alone: nothing is learnt, so resampling inside the route cannot leak.
                data = data.copy().pick(picks).load_data(verbose="ERROR")
                data.resample(target, verbose="ERROR")
                picks = np.arange(len(data.ch_names))
            names = [data.ch_names[i] for i in picks]
            # BAD_ annotated spans are left out (MNE's reject_by_annotation="omit").
            return (data.get_data(picks=picks, reject_by_annotation="omit"),
                    float(data.info["sfreq"]), names)
        arr = np.asarray(data)
        if arr.ndim != 2:
            raise RecordingError(sid, f"expected an (n_channels, n_times) array, got shape "
                                      f"{arr.shape}")
        if self.sfreq is None:
            raise ConfigError("sfreq is required when subjects are plain arrays (give the "
                              "sampling rate in Hz, or pass mne Raw objects)")
        return arr, float(self.sfreq), None

    def _prepare(self, data, sid: str, fitting: bool) -> np.ndarray:
        arr, sfreq, names = self._read(data, sid)
        first = fitting and self.sfreq_ is None
        ref = (f"{self._first_subject}" if fitting and self._first_subject
               else "the model's training data")
        if first:
            self.window_samples_ = self.check_window(sfreq)
            self.sfreq_ = sfreq
            self.n_channels_ = arr.shape[0]
            self.ch_names_ = names
            self.step_samples_ = max(1, int(round(self.window_samples_ * (1 - self.overlap))))
            self._first_subject = sid
        if names is not None and self.ch_names_ is not None and names != self.ch_names_:
            missing = [c for c in self.ch_names_ if c not in names]
            if missing:
                raise RecordingError(sid, f"{len(names)} EEG channels, missing {len(missing)} "
                                          f"of {ref}'s: {', '.join(missing[:8])}"
                                          + (" ..." if len(missing) > 8 else ""))
            arr = arr[[names.index(c) for c in self.ch_names_]]   # line channels up by name
        if arr.shape[0] != self.n_channels_:
            raise RecordingError(sid, f"{arr.shape[0]} channels, {ref} has {self.n_channels_}")
        if arr.shape[1] < self.window_samples_:
            raise RecordingError(sid, f"recording is {arr.shape[1] / sfreq:g} s long, shorter "
                                      f"than one window ({self.window:g} s)")
        if not np.all(np.isfinite(arr)):
            raise RecordingError(sid, "recording contains NaN or infinite values")
        arr = np.asarray(arr, dtype=np.float64)
        if self.normalize == "channel":
            mean = arr.mean(axis=1, keepdims=True)
            std = arr.std(axis=1, keepdims=True)
            arr = (arr - mean) / np.where(std > 0, std, np.inf)
        return arr.astype(np.float32)

    def _items(self, arrays, ids, labels):
        return WindowItems(arrays, self.window_samples_, self.step_samples_, ids, labels)

    def _build_network(self, n_classes: int):
        if self.architecture != "neurodx":
            return BraindecodeNetwork(n_classes, self.n_channels_, self.window_samples_,
                                      model=self.architecture,
                                      model_params=self.architecture_params)
        return EEGWindowCNN(n_classes, self.n_channels_, self.window_samples_,
                            n_filters_time=self.n_filters_time,
                            n_filters_spat=self.n_filters_spat,
                            filter_time_length=self.filter_time_length,
                            block_filters=tuple(self.block_filters),
                            filter_length=self.filter_length, pool_length=self.pool_length,
                            pool_stride=self.pool_stride, dropout=self.dropout,
                            block_padding=self.block_padding)
