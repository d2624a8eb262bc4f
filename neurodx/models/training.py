"""The training engine shared by every CNN route.

:func:`train_network` fits a neurodx network on *items* (slices, frames or
windows) that each belong to a subject. It is a loop over epochs (seeded training
steps, then validation) that calls callbacks at defined events
(:mod:`neurodx.models.callbacks`): :class:`~neurodx.models.callbacks.EarlyStopping`
(model selection and patience), :class:`~neurodx.models.callbacks.Checkpoint` (save
and resume), :class:`~neurodx.models.callbacks.LRSchedule`,
:class:`~neurodx.models.callbacks.ProgressBar` and
:class:`~neurodx.models.callbacks.HistoryLogger`, then the user's own. What it does:

* **Inner validation by subject.** The engine splits the *subjects* it is given
  into training and validation subjects (stratified by label, seeded): validation
  subjects are a subset of the subjects passed in, so a cross-validation test
  subject that is never passed in is never seen. Validation loss drives early
  stopping and model selection (the weights of the best epoch are kept). The
  subjects used are recorded in :class:`TrainResult`.
* **Learning-rate schedule** (``lr_schedule="cosine"``): the rate of epoch ``e``
  (0-based) is ``lr * (0.05 + 0.95 * (1 + cos(pi * e / epochs)) / 2)``, set at the
  start of each epoch from the epoch number alone, so a resumed run follows the same
  schedule; ``"constant"`` keeps ``lr``.
* **Items per subject and epoch** (``items_per_subject=k``): each epoch draws at most
  ``k`` items of every training subject (seeded by ``(seed, epoch)``; other items in
  other epochs), shuffled together so every batch mixes subjects. Every subject then
  weighs the same in an epoch whatever its recording length, and an epoch costs
  ``k x n_subjects`` items instead of all overlapping windows.
* **Batch-norm statistics re-estimated** (``precise_bn=True``): before each
  validation (and so in the kept weights) the batch-norm running means and variances
  are recomputed as plain averages over the epoch's training items in inference
  conditions (dropout off, weights fixed). The running averages collected during
  training mix weights of many steps and, behind dropout, a variance that inference
  never sees (Li et al. 2019, "Understanding the disharmony between dropout and batch
  normalization", CVPR); on a few dozen subjects that shift can push every window of
  a network like Deep4Net to one class. Re-estimating the statistics is the remedy of
  Wu & Johnson (2021, "Rethinking 'batch' in BatchNorm", arXiv:2105.07576). Frozen
  layers keep theirs.
* **Class weighting** (``class_weight="balanced"``): item-level weights
  ``n_items / (n_classes * n_items_of_class)`` computed on the training subjects.
* **Item targets** (optional ``targets`` of the items, see :func:`item_targets`):
  what each item is trained towards when it differs from its subject's label (CT
  slice labels: a hemorrhage patient's slices without blood are trained as the
  normal class). The inner split, and the subject accuracy of the validation record,
  stay on the subjects' labels (``labels``); the loss, class weights and item accuracy
  use the targets.
* **Augmentation**: a callable ``aug(x, generator)`` (see
  :mod:`neurodx.models.augmentation`) applied to training batches only.
* **Devices**: CUDA with mixed precision (``torch.autocast`` + gradient scaling)
  when ``torch.cuda.is_available()``; otherwise the CPU, with ``num_threads``
  intra-op threads (default: the CPUs this process may use).
* **Determinism on the CPU**: the shuffling, augmentation and dropout of epoch
  ``e`` use generators seeded from ``(seed, e)``; ``torch.use_deterministic_algorithms``
  is on during training. Two runs with the same seed give identical weights, and a
  run resumed from the checkpoint of epoch ``e`` continues exactly as the
  uninterrupted run would have. (Initialise the network with
  :func:`seeded_network` for a seeded initialisation.) Global torch state (RNG,
  thread count, determinism flag) is restored afterwards.
* **Checkpoints** (safetensors + JSON, :mod:`neurodx.models.checkpoint`) after every
  ``checkpoint_every`` epochs in ``checkpoint_dir/last.safetensors``; with
  ``resume=True`` a compatible checkpoint there is continued (an incompatible one
  -- other data, network or settings -- is refused with the differing keys).
* **Divergence**: a NaN or infinite loss stops training with a
  :class:`~neurodx.errors.NeurodxError` naming the epoch and batch.
* **Transfer learning**: ``init_from`` (a model directory or checkpoint) loads
  trained weights before the first step; ``freeze_features=True`` keeps the
  convolutional layers (weights and batch-norm statistics) fixed.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from .._json import jsonable
from .._logging import logger, progress as progress_bar
from ..errors import ConfigError, NeurodxError
from .callbacks import (Checkpoint, EarlyStopping, HistoryLogger, LRSchedule, ProgressBar,
                        TrainingState, fire)
from .checkpoint import load_pretrained
from .voting import vote

__all__ = ["TrainConfig", "TrainResult", "ItemSource", "ArrayItems", "train_network",
           "predict_items", "inner_split", "class_weights", "seeded_network", "resolve_device",
           "epoch_lr", "recalibrate_batchnorm", "item_targets", "CHECKPOINT_NAME",
           "LR_SCHEDULES"]

CHECKPOINT_NAME = "last.safetensors"
#: ``lr_schedule`` settings of :class:`TrainConfig`.
LR_SCHEDULES = ("constant", "cosine")


def epoch_lr(config: "TrainConfig", epoch: int) -> float:
    """Learning rate of 0-based ``epoch`` under ``config.lr_schedule`` (module docstring)."""
    if config.lr_schedule == "constant" or config.epochs <= 1:
        return config.lr
    return config.lr * (0.05 + 0.95 * (1 + math.cos(math.pi * epoch / config.epochs)) / 2)


class ItemSource(Protocol):
    """What the engine needs from a data set of items (slices, frames, windows).

    Attributes
    ----------
    labels : ndarray of int (n_items,)
        Class index of each item (the label of its subject).
    targets : ndarray of int (n_items,), optional
        What each item is trained towards, when it differs from ``labels`` (read
        through :func:`item_targets`; absent or None: ``labels``).
    groups : ndarray (n_items,)
        Subject ID of each item.
    positions : ndarray of int (n_items,) or None
        Slice position of each item, for networks with ``uses_position``.
    """

    labels: np.ndarray
    groups: np.ndarray
    positions: np.ndarray | None

    def __len__(self) -> int: ...

    def get(self, index: np.ndarray) -> np.ndarray:
        """Items ``index`` as a float32 array ``(len(index), *item_shape)``."""


@dataclass
class ArrayItems:
    """Items held in one array ``(n_items, *item_shape)`` (any float dtype)."""

    data: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    positions: np.ndarray | None = None

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.groups = np.asarray(self.groups)
        n = len(self.data)
        if self.labels.shape != (n,) or self.groups.shape != (n,):
            raise ValueError(f"labels and groups need one entry per item ({n})")
        if self.positions is not None:
            self.positions = np.asarray(self.positions, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data)

    def get(self, index: np.ndarray) -> np.ndarray:
        return np.asarray(self.data[index], dtype=np.float32)


@dataclass
class TrainConfig:
    """Settings of :func:`train_network` (see the module docstring).

    Parameters
    ----------
    epochs : int
        Maximum number of epochs.
    batch_size : int
    lr, weight_decay : float
        AdamW learning rate and decoupled weight decay.
    val_fraction : float
        Fraction of the subjects of each class held out for validation (at least
        one per class that has two or more subjects); 0 trains on all subjects for
        ``epochs`` epochs and keeps the last weights.
    patience : int or None
        Stop after this many epochs without a lower validation loss.
    class_weight : {"balanced", None}
    device : {"auto", "cpu", "cuda", ...}
    amp : bool
        Mixed precision on CUDA (ignored on the CPU).
    num_threads : int or None
        CPU threads for torch during training (default: CPUs available).
    seed : int
    deterministic : bool
        ``torch.use_deterministic_algorithms`` during training.
    progress : bool
        Allow a progress bar with per-epoch metrics (drawn on a terminal unless quiet).
    eval_batch_size : int
    checkpoint_dir : path or None
        Where ``last.safetensors`` is written; ``None`` keeps no checkpoint.
    checkpoint_every : int
    resume : bool
        Continue from a compatible checkpoint in ``checkpoint_dir``.
    max_grad_norm : float or None
        Clip the gradient norm.
    lr_schedule : {"constant", "cosine"}
        Cosine decay from ``lr`` to ``0.05 * lr`` over ``epochs`` (module docstring).
    items_per_subject : int or None
        Items drawn per training subject and epoch (None: all of them).
    precise_bn : bool
        Re-estimate batch-norm statistics on the epoch's training items before each
        validation (module docstring).
    """

    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.2
    patience: int | None = 10
    class_weight: str | None = "balanced"
    device: str = "auto"
    amp: bool = True
    num_threads: int | None = None
    seed: int = 0
    deterministic: bool = True
    progress: bool = True
    eval_batch_size: int = 256
    checkpoint_dir: str | Path | None = None
    checkpoint_every: int = 1
    resume: bool = True
    max_grad_norm: float | None = None
    lr_schedule: str = "constant"
    items_per_subject: int | None = None
    precise_bn: bool = False

    def __post_init__(self):
        if self.epochs < 0:
            raise ConfigError(f"epochs must be non-negative, got {self.epochs}")
        if self.batch_size < 1 or self.eval_batch_size < 1:
            raise ConfigError("batch sizes must be at least 1")
        if not self.lr > 0:
            raise ConfigError(f"lr must be positive, got {self.lr}")
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"patience must be at least 1 or None, got {self.patience}")
        if self.class_weight not in ("balanced", None):
            raise ConfigError(f"class_weight must be 'balanced' or None, "
                              f"got {self.class_weight!r}")
        if self.items_per_subject is not None and self.items_per_subject < 1:
            raise ConfigError(f"items_per_subject must be at least 1 or None, "
                              f"got {self.items_per_subject}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, "
                              f"got {self.lr_schedule!r}")
        if self.checkpoint_every < 1:
            raise ConfigError("checkpoint_every must be at least 1")
        if self.num_threads is not None and self.num_threads < 1:
            raise ConfigError(f"num_threads must be at least 1, got {self.num_threads}")


@dataclass
class TrainResult:
    """What a training run did.

    ``history`` has one dict per epoch (``epoch`` (1-based), ``train_loss``,
    ``val_loss``, ``val_accuracy`` (items), ``val_subject_accuracy`` (soft vote),
    ``seconds``). ``best_epoch`` is the epoch whose weights were kept.
    """

    history: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    n_epochs: int = 0
    stopped_early: bool = False
    train_subjects: list = field(default_factory=list)
    val_subjects: list = field(default_factory=list)
    class_weights: list | None = None
    device: str = "cpu"
    resumed_from_epoch: int | None = None
    init_from: dict | None = None
    frozen_parameters: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ConfigError(f"device: {err}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' requested but CUDA is not available")
    return dev


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _seed_from(*words: int) -> int:
    return int(np.random.SeedSequence([int(w) for w in words]).generate_state(1, np.uint64)[0]
               % (2 ** 63 - 1))


@contextlib.contextmanager
def torch_session(seed: int, num_threads: int | None = None, deterministic: bool = True,
                  device: torch.device | None = None):
    """Fork torch's RNG (seeded), set threads and determinism; restore all afterwards."""
    devices = [device.index or 0] if device is not None and device.type == "cuda" else []
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    old_cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        try:
            threads = num_threads or min(_available_cpus(), old_threads)
            torch.set_num_threads(threads)
            if deterministic:
                torch.use_deterministic_algorithms(True, warn_only=True)
                torch.backends.cudnn.deterministic = True
                torch.backends.cudnn.benchmark = False
            yield
        finally:
            torch.set_num_threads(old_threads)
            torch.use_deterministic_algorithms(old_det, warn_only=old_warn)
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = old_cudnn


def seeded_network(factory: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Build a network with torch's RNG seeded by ``seed`` (global RNG left untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_seed_from(seed, 0xC0FFEE))
        return factory()


def inner_split(subjects: Sequence, labels: Sequence, val_fraction: float, seed: int
                ) -> tuple[list, list]:
    """Split subjects into training and validation subjects, stratified by label.

    Each class with ``n >= 2`` subjects gives ``round(val_fraction * n)`` subjects
    (at least 1, at most ``n - 1``) to validation; classes with one subject stay in
    training. Deterministic for a given seed, whatever the input order.

    Returns sorted lists ``(train_subjects, val_subjects)``.
    """
    subjects = np.asarray(subjects)
    labels = np.asarray(labels)
    if len(np.unique(subjects)) != len(subjects):
        raise ValueError("subjects must be unique")
    order = np.argsort(subjects.astype(str), kind="stable")
    subjects, labels = subjects[order], labels[order]
    rng = np.random.default_rng(_seed_from(seed, 0x5B1))
    val = []
    if val_fraction > 0:
        for label in np.unique(labels):
            members = subjects[labels == label]
            if len(members) < 2:
                continue
            n_val = int(min(max(round(val_fraction * len(members)), 1), len(members) - 1))
            val.extend(rng.permutation(members)[:n_val].tolist())
    val_set = set(val)
    train = [s for s in subjects.tolist() if s not in val_set]
    return sorted(train, key=str), sorted(val, key=str)


def class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Balanced weights ``n / (n_classes * n_c)`` (0 for a class without items)."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes).astype(float)
    with np.errstate(divide="ignore"):
        weights = np.where(counts > 0, counts.sum() / (n_classes * counts), 0.0)
    return weights


def item_targets(items: ItemSource) -> np.ndarray:
    """The class each item is trained towards: ``items.targets`` when set, else ``labels``."""
    targets = getattr(items, "targets", None)
    labels = np.asarray(items.labels, dtype=np.int64)
    if targets is None:
        return labels
    targets = np.asarray(targets, dtype=np.int64)
    if targets.shape != labels.shape:
        raise ValueError(f"targets need one entry per item ({len(labels)}), got {targets.shape}")
    return targets


def _subject_labels(items: ItemSource) -> tuple[np.ndarray, np.ndarray]:
    groups = np.asarray(items.groups)
    labels = np.asarray(items.labels)
    subjects, first = np.unique(groups, return_index=True)
    subject_labels = labels[first]
    mismatch = labels != subject_labels[np.searchsorted(subjects, groups)]
    if mismatch.any():
        bad = groups[np.flatnonzero(mismatch)[0]]
        raise NeurodxError(f"{bad}: items of one subject carry different labels")
    return subjects, subject_labels


def _batches(index: np.ndarray, size: int) -> Iterable[np.ndarray]:
    for start in range(0, len(index), size):
        yield index[start:start + size]


def batch_to_device(items: ItemSource, batch: np.ndarray, device, uses_position: bool):
    """The items of ``batch`` (and their slice positions when the network uses them) on
    ``device``, as ``(x, positions or None)``."""
    x = torch.from_numpy(items.get(batch)).to(device, non_blocking=True)
    pos = None
    if uses_position:
        if items.positions is None:
            raise ConfigError("this network needs slice positions but the items have none")
        pos = torch.from_numpy(np.asarray(items.positions)[batch]).to(device)
    return x, pos


def predict_items(network: nn.Module, items: ItemSource, index: np.ndarray | None = None, *,
                  batch_size: int = 256, device: str | torch.device = "auto",
                  progress: bool = False, amp: bool = True, optimize: bool = True,
                  dtype: str = "float32") -> np.ndarray:
    """Class probabilities ``(n, n_classes)`` (float64) of items ``index`` (default: all).

    With ``optimize`` (default) the items go through an
    :class:`~neurodx.models.inference.InferenceNetwork` copy of ``network`` (batch
    norm folded, channels_last, ``dtype``; built here unless ``network`` already is
    one) in batches of at most ``batch_size`` sized for the CPU's caches
    (:func:`~neurodx.models.inference.inference_batch_size`). ``optimize=False``
    runs ``network`` itself in evaluation mode, in batches of ``batch_size``.
    """
    from .inference import InferenceNetwork, inference_batch_size

    device = resolve_device(device) if isinstance(device, str) else device
    index = np.arange(len(items)) if index is None else np.asarray(index)
    if optimize:
        if not isinstance(network, InferenceNetwork):
            network = InferenceNetwork(network, dtype)
        shape = network.input_shape
        if shape is not None and len(shape) == 3:     # image slices (channels, H, W)
            batch_size = inference_batch_size(shape, batch_size)
    network = network.to(device)
    was_training = network.training
    network.eval()
    uses_position = getattr(network, "uses_position", False)
    out = []
    use_amp = amp and device.type == "cuda"
    with torch.inference_mode():
        for batch in progress_bar(list(_batches(index, batch_size)), enabled=progress,
                                  desc="predicting", unit="batch", leave=False):
            x, pos = batch_to_device(items, batch, device, uses_position)
            with torch.autocast(device.type, enabled=use_amp):
                logits = network(x, pos)
            out.append(torch.softmax(logits.float(), dim=1).cpu().numpy().astype(np.float64))
    network.train(was_training)
    if not out:
        n_classes = network.get_config()["n_classes"]
        return np.empty((0, n_classes))
    return np.concatenate(out)


def _draw_per_subject(index: np.ndarray, groups: np.ndarray, k: int, seed: int) -> np.ndarray:
    """At most ``k`` of the items ``index`` per subject, drawn without replacement (sorted)."""
    rng = np.random.default_rng(seed)
    subject_of = groups[index]
    _, inverse = np.unique(subject_of, return_inverse=True)
    keys = rng.random(len(index))               # a random rank within each subject
    order = np.lexsort((keys, inverse.ravel()))
    ranks = np.empty(len(index), dtype=np.int64)
    sorted_groups = inverse.ravel()[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    run = np.arange(len(index)) - np.repeat(starts, np.diff(np.r_[starts, len(index)]))
    ranks[order] = run
    return np.sort(index[ranks < k])


def recalibrate_batchnorm(network: nn.Module, items: ItemSource, index: np.ndarray,
                          device: torch.device, batch_size: int,
                          skip: Sequence[nn.Module] = ()) -> int:
    """Recompute batch-norm running statistics as averages over items ``index``.

    Dropout is off and weights are unchanged; only the running means and variances of
    the batch-norm layers (except those inside ``skip``) change. Returns the number of
    layers re-estimated. The network is left in eval mode.
    """
    skipped = {id(m) for module in skip for m in module.modules()}
    norms = [m for m in network.modules()
             if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
             and id(m) not in skipped]
    network.eval()
    if not norms or len(index) == 0:
        return 0
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None           # cumulative average over the batches
        m.train()
    uses_position = getattr(network, "uses_position", False)
    try:
        with torch.no_grad():
            for batch in _batches(np.asarray(index), batch_size):
                x, pos = batch_to_device(items, batch, device, uses_position)
                network(x, pos)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        network.eval()
    return len(norms)


def _evaluate(network, items, index, loss_fn, device, config, uses_position, subject_label):
    """Validation loss (mean weighted CE), item accuracy and subject accuracy (soft vote)."""
    network.eval()
    total, weight_sum, correct = 0.0, 0.0, 0
    probas = []
    targets = item_targets(items)
    with torch.inference_mode():
        for batch in _batches(index, config.eval_batch_size):
            x, pos = batch_to_device(items, batch, device, uses_position)
            y = torch.from_numpy(targets[batch]).to(device)
            with torch.autocast(device.type, enabled=config.amp and device.type == "cuda"):
                logits = network(x, pos)
            logits = logits.float()
            losses = nn.functional.cross_entropy(logits, y, reduction="none")
            w = loss_fn.weight[y] if loss_fn.weight is not None else torch.ones_like(losses)
            total += float((losses * w).sum())
            weight_sum += float(w.sum())
            correct += int((logits.argmax(1) == y).sum())
            probas.append(torch.softmax(logits, 1).cpu().numpy())
    votes = vote(np.concatenate(probas), np.asarray(items.groups)[index], "soft")
    truth = np.array([subject_label[s] for s in votes.subjects])
    return (total / max(weight_sum, 1e-12), correct / len(index),
            float(np.mean(votes.predicted == truth)))


def _fingerprint(network, config, items, train_subjects, val_subjects, freeze_features,
                 init_from) -> dict:
    keys = ("batch_size", "lr", "weight_decay", "val_fraction", "patience", "class_weight",
            "seed", "max_grad_norm")
    # A schedule depends on the epoch budget; the constant rate lets a run be extended.
    schedule = ({} if config.lr_schedule == "constant"
                else {"lr_schedule": config.lr_schedule, "epochs": config.epochs})
    if config.items_per_subject is not None:
        schedule["items_per_subject"] = config.items_per_subject
    if config.precise_bn:
        schedule["precise_bn"] = True
    return {**schedule, "network": type(network).__name__, "network_config": network.get_config(),
            **{k: getattr(config, k) for k in keys},
            "n_items": len(items), "train_subjects": [str(s) for s in train_subjects],
            "val_subjects": [str(s) for s in val_subjects],
            "freeze_features": bool(freeze_features),
            "init_from": None if init_from is None else str(init_from)}


def train_network(network: nn.Module, items: ItemSource, config: TrainConfig | None = None, *,
                  augment: Callable | None = None, init_from: str | Path | None = None,
                  freeze_features: bool = False, callbacks: Sequence = ()) -> TrainResult:
    """Train ``network`` on ``items`` (see the module docstring); returns a :class:`TrainResult`.

    The network is left on the training device, in eval mode, holding the weights
    of the best validation epoch (or of the last epoch without validation).

    Parameters
    ----------
    network : neurodx network
        Already initialised (see :func:`seeded_network`).
    items : ItemSource
        Items of the *training* subjects only (the engine carves its validation
        subjects out of them).
    config : TrainConfig
    augment : callable ``(x, generator) -> x``, optional
    init_from : path, optional
        Model directory or checkpoint whose weights are loaded before training.
    freeze_features : bool
        Keep the convolutional layers fixed (requires ``init_from`` to make sense).
    callbacks : sequence
        Objects with any of the events of :mod:`neurodx.models.callbacks`
        (``on_train_begin(network, result)``, ``on_epoch_end(network, record)``, ...),
        called after the built-in ones; an exception raised there stops training
        (the last checkpoint stays on disk for ``resume``).
    """
    config = config or TrainConfig()
    device = resolve_device(config.device)
    if len(items) == 0:
        raise NeurodxError("no training items (every subject yielded zero slices/windows)")
    result = TrainResult(device=str(device))
    with torch_session(_seed_from(config.seed, 0x7EA1), config.num_threads,
                       config.deterministic, device):
        frozen = _prepare_network(network, device, init_from, freeze_features, result)
        params = [p for p in network.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
        use_amp = config.amp and device.type == "cuda"
        scaler = torch.amp.GradScaler(device.type, enabled=use_amp)
        split = _InnerSplit(network, items, config, result)
        loss_fn = nn.CrossEntropyLoss(
            weight=None if split.weights is None else torch.tensor(split.weights,
                                                                   dtype=torch.float32,
                                                                   device=device))
        state = TrainingState()
        engine = [EarlyStopping(state, config.patience)]
        if config.checkpoint_dir is not None:
            fingerprint = jsonable(_fingerprint(network, config, items, split.train,
                                                       split.val, freeze_features, init_from))
            engine.append(Checkpoint(
                Path(config.checkpoint_dir) / CHECKPOINT_NAME, state, optimizer, scaler,
                fingerprint, epochs=config.epochs, every=config.checkpoint_every,
                resume=config.resume,
                subjects={"train_subjects": split.train, "val_subjects": split.val}))
        engine += [LRSchedule(optimizer, lambda epoch: epoch_lr(config, epoch)),
                   ProgressBar(config.epochs, state, enabled=config.progress),
                   HistoryLogger(config.epochs)]
        everyone = [*engine, *callbacks]
        step = _Step(network, items, config, device, optimizer, scaler, loss_fn, params,
                     augment, frozen)

        fire(everyone, "on_train_begin", network, result)
        try:
            for epoch in range(state.epoch, config.epochs):
                if state.stopped:
                    break
                tic = time.perf_counter()
                fire(everyone, "on_epoch_begin", network, epoch)
                epoch_idx = step.train_epoch(epoch, split)
                record = {"epoch": epoch + 1, "train_loss": step.mean_loss}
                record.update(step.validate(epoch, epoch_idx, split))
                record["seconds"] = round(time.perf_counter() - tic, 3)
                state.history.append(record)
                state.epoch = epoch + 1
                fire(everyone, "on_epoch_end", network, record)
        except BaseException as err:
            fire(everyone, "on_exception", network, err)
            raise
        fire(everyone, "on_train_end", network, result)
        network.eval()
        result.history = list(state.history)
        result.n_epochs = state.epoch
        result.stopped_early = bool(state.stopped)
        result.best_epoch = state.best_epoch if state.best_weights is not None else state.epoch
    return result


def _prepare_network(network, device, init_from, freeze_features, result) -> list:
    """Load ``init_from``, move to ``device``, freeze the feature layers; the frozen modules."""
    if init_from is not None:
        result.init_from = load_pretrained(network, init_from)
        logger.info("initialised from %s (%d tensors loaded, %d re-initialised)",
                    result.init_from["source"], len(result.init_from["loaded"]),
                    len(result.init_from["reinitialised"]))
    network.to(device)
    frozen_modules = list(network.feature_extractors()) if freeze_features else []
    frozen_ids = set()
    for module in frozen_modules:
        for p in module.parameters():
            p.requires_grad_(False)
            frozen_ids.add(id(p))
    result.frozen_parameters = [n for n, p in network.named_parameters() if id(p) in frozen_ids]
    if not any(p.requires_grad for p in network.parameters()):
        raise ConfigError("no trainable parameters left (everything is frozen)")
    return frozen_modules


class _InnerSplit:
    """Training and validation subjects (by subject, stratified), their items and weights."""

    def __init__(self, network, items, config, result):
        subjects, subject_labels = _subject_labels(items)
        n_classes = network.get_config()["n_classes"]
        if subject_labels.max() >= n_classes or subject_labels.min() < 0:
            raise ConfigError(f"item labels must be in [0, {n_classes}), got "
                              f"{subject_labels.min()}..{subject_labels.max()}")
        self.train, self.val = inner_split(subjects, subject_labels, config.val_fraction,
                                           config.seed)
        result.train_subjects, result.val_subjects = self.train, self.val
        self.groups = np.asarray(items.groups)
        self.train_idx = np.flatnonzero(np.isin(self.groups, np.asarray(self.train,
                                                                         dtype=self.groups.dtype)))
        self.val_idx = np.flatnonzero(np.isin(self.groups, np.asarray(self.val,
                                                                       dtype=self.groups.dtype)))
        self.labels = item_targets(items)        # what items are trained towards
        self.weights = None
        if config.class_weight == "balanced":
            self.weights = class_weights(self.labels[self.train_idx], n_classes)
            result.class_weights = self.weights.tolist()
        self.subject_label = dict(zip(subjects.tolist(), subject_labels.tolist()))


class _Step:
    """One epoch's training steps and validation (seeded from ``(seed, epoch)`` alone)."""

    def __init__(self, network, items, config, device, optimizer, scaler, loss_fn, params,
                 augment, frozen):
        self.network, self.items, self.config, self.device = network, items, config, device
        self.optimizer, self.scaler, self.loss_fn, self.params = optimizer, scaler, loss_fn, params
        self.augment, self.frozen = augment, frozen
        self.use_amp = config.amp and device.type == "cuda"
        self.uses_position = getattr(network, "uses_position", False)
        self.mean_loss = float("nan")

    def train_epoch(self, epoch: int, split: _InnerSplit) -> np.ndarray:
        """Train one epoch; returns the items it drew (``mean_loss`` holds its loss)."""
        config, network = self.config, self.network
        epoch_idx = split.train_idx if config.items_per_subject is None else \
            _draw_per_subject(split.train_idx, split.groups, config.items_per_subject,
                              _seed_from(config.seed, epoch, 4))
        order = np.random.default_rng(_seed_from(config.seed, epoch, 1)).permutation(epoch_idx)
        aug_gen = torch.Generator().manual_seed(_seed_from(config.seed, epoch, 2))
        torch.manual_seed(_seed_from(config.seed, epoch, 3))   # dropout
        network.train()
        for module in self.frozen:     # frozen layers: fixed batch-norm statistics
            module.eval()
        loss_sum, n_seen = 0.0, 0
        for b, batch in enumerate(_batches(order, config.batch_size)):
            x, pos = batch_to_device(self.items, batch, self.device, self.uses_position)
            y = torch.from_numpy(split.labels[batch]).to(self.device)
            if self.augment is not None:
                x = self.augment(x, aug_gen)
            with torch.autocast(self.device.type, enabled=self.use_amp):
                logits = network(x, pos)
            loss = self.loss_fn(logits.float(), y)
            if not torch.isfinite(loss.detach()):
                raise NeurodxError(
                    f"training stopped: the loss became {float(loss.detach())} at epoch "
                    f"{epoch + 1}, batch {b + 1} (lr={config.lr:g}); check the "
                    "inputs for extreme values, lower the learning rate or "
                    "normalise the data")
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if config.max_grad_norm is not None:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.params, config.max_grad_norm)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            loss_sum += float(loss.detach()) * len(batch)
            n_seen += len(batch)
        self.mean_loss = loss_sum / max(n_seen, 1)
        return epoch_idx

    def validate(self, epoch: int, epoch_idx: np.ndarray, split: _InnerSplit) -> dict:
        """Validation metrics of the epoch (empty without validation subjects)."""
        if not len(split.val_idx):
            return {}
        if self.config.precise_bn:
            # Part of what is validated (and kept): the statistics inference will use.
            recalibrate_batchnorm(self.network, self.items, epoch_idx, self.device,
                                  self.config.eval_batch_size, skip=self.frozen)
        val_loss, val_acc, val_subj_acc = _evaluate(
            self.network, self.items, split.val_idx, self.loss_fn, self.device, self.config,
            self.uses_position, split.subject_label)
        if not math.isfinite(val_loss):
            raise NeurodxError(f"training stopped: validation loss is {val_loss} "
                               f"at epoch {epoch + 1}")
        return {"val_loss": val_loss, "val_accuracy": val_acc,
                "val_subject_accuracy": val_subj_acc}
