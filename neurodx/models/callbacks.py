"""Callbacks of the training engine: what :func:`~neurodx.models.train_network` does
around its epochs, one small object per concern (in the manner of skorch and Keras).

The loop (:func:`neurodx.models.training.train_network`) trains and validates an
epoch, appends its record to :class:`TrainingState` and then calls, at defined
events, the built-in callbacks followed by the user's (``callbacks=``):

``on_train_begin(network, result)``
    Before the first epoch (after ``init_from`` and freezing; a checkpoint is
    restored here, so later callbacks see the resumed state).
``on_epoch_begin(network, epoch)``
    Before the training steps of 0-based ``epoch``.
``on_epoch_end(network, record)``
    After an epoch; ``record`` is its entry of the training history.
``on_train_end(network, result)``
    After the last epoch, in *reverse* order (the last callback to begin is the
    first to end, as with context managers): the final checkpoint is written before
    the best weights are put back.
``on_exception(network, error)``
    Training raised (divergence, Ctrl-C, a callback): resources are released; the
    last checkpoint stays on disk for ``resume``.

A user callback may define any subset of these methods (an exception raised in one
stops training). Built-in ones hold references to the objects they act on (state,
optimizer), given when the engine builds them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .._logging import logger, progress as progress_bar
from ..errors import ConfigError
from .checkpoint import (optimizer_from_tensors, optimizer_to_tensors, read_checkpoint,
                         save_checkpoint, state_to_tensors)

__all__ = ["Callback", "TrainingState", "EarlyStopping", "Checkpoint", "LRSchedule",
           "ProgressBar", "HistoryLogger", "EVENTS"]

#: Events of the training loop, in the order an epoch meets them.
EVENTS = ("on_train_begin", "on_epoch_begin", "on_epoch_end", "on_train_end", "on_exception")


class Callback:
    """Base class of the engine's callbacks: every event does nothing by default."""

    def on_train_begin(self, network, result) -> None:
        """Before the first epoch."""

    def on_epoch_begin(self, network, epoch: int) -> None:
        """Before the training steps of 0-based ``epoch``."""

    def on_epoch_end(self, network, record: dict) -> None:
        """After an epoch; ``record`` is its history entry."""

    def on_train_end(self, network, result) -> None:
        """After the last epoch (callbacks end in reverse order)."""

    def on_exception(self, network, error: BaseException) -> None:
        """Training raised ``error``."""


@dataclass
class TrainingState:
    """What a run has done so far; saved in a checkpoint so a resumed run continues it.

    Attributes
    ----------
    epoch : int
        Epochs completed.
    history : list of dict
        One record per epoch (:class:`~neurodx.models.TrainResult`).
    best_loss, best_epoch
        Lowest validation loss and its (1-based) epoch.
    bad_epochs : int
        Epochs since the validation loss last fell.
    stopped : bool
        Early stopping has ended the run.
    best_weights : dict of tensors or None
        The network's state at ``best_epoch`` (kept apart from the JSON state).
    """

    epoch: int = 0
    history: list = field(default_factory=list)
    best_loss: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    stopped: bool = False
    best_weights: dict | None = None

    _SAVED = ("epoch", "history", "best_loss", "best_epoch", "bad_epochs", "stopped")

    def to_dict(self) -> dict:
        """The JSON part (everything but ``best_weights``)."""
        return {k: getattr(self, k) for k in self._SAVED}

    def update_from(self, saved: dict) -> None:
        """Take the JSON part written by :meth:`to_dict`."""
        for k in self._SAVED:
            setattr(self, k, saved[k])


class EarlyStopping(Callback):
    """Model selection on the validation loss, and stopping when it no longer falls.

    Every epoch whose validation loss is the lowest so far becomes the best: its
    weights are copied into ``state.best_weights``. After ``patience`` epochs without
    a lower loss the run stops (``state.stopped``). At the end of training the best
    weights are loaded into the network (skorch's ``load_best``). Epochs without
    validation (``val_fraction=0``) are ignored: the last weights are kept.

    Parameters
    ----------
    state : TrainingState
        Shared with the loop and :class:`Checkpoint`.
    patience : int or None
        ``None`` never stops (the best weights are still kept).
    """

    def __init__(self, state: TrainingState, patience: int | None):
        self.state = state
        self.patience = patience

    def on_epoch_end(self, network, record):
        if "val_loss" not in record:
            return
        state = self.state
        if state.best_loss is None or record["val_loss"] < state.best_loss:
            state.best_loss, state.best_epoch, state.bad_epochs = (record["val_loss"],
                                                                   record["epoch"], 0)
            state.best_weights = {k: v.detach().clone() for k, v in network.state_dict().items()}
        else:
            state.bad_epochs += 1
            if self.patience is not None and state.bad_epochs >= self.patience:
                state.stopped = True

    def on_train_end(self, network, result):
        if self.state.best_weights is not None:
            network.load_state_dict(self.state.best_weights)


class Checkpoint(Callback):
    """Write the run to ``path`` (safetensors + JSON) and resume from it.

    The checkpoint holds the network, the best weights, the optimizer and gradient
    scaler, the :class:`TrainingState` and a *fingerprint* of data and settings
    (:mod:`neurodx.models.checkpoint`). It is written every ``every`` epochs, when
    the run stops early, after the last epoch and at the end (``done``). With
    ``resume``, a checkpoint found at ``path`` is continued at ``on_train_begin``
    (the loop then starts at ``state.epoch``, and the per-epoch seeding makes the
    continuation exact); one written for another fingerprint is refused with the
    keys that differ.

    Parameters
    ----------
    path : path
        The checkpoint file (``<checkpoint_dir>/last.safetensors``).
    state : TrainingState
    optimizer : torch.optim.Optimizer
    scaler : torch.amp.GradScaler
    fingerprint : dict
        JSON-able description of data and settings.
    epochs, every : int
        Epoch budget and checkpoint interval.
    resume : bool
    subjects : dict
        ``train_subjects`` and ``val_subjects``, stored for the record.
    """

    def __init__(self, path, state: TrainingState, optimizer, scaler, fingerprint: dict, *,
                 epochs: int, every: int = 1, resume: bool = True, subjects: dict | None = None):
        self.path = Path(path)
        self.state = state
        self.optimizer = optimizer
        self.scaler = scaler
        self.fingerprint = fingerprint
        self.epochs = epochs
        self.every = every
        self.resume = resume
        self.subjects = subjects or {}

    def on_train_begin(self, network, result):
        if not (self.resume and self.path.is_file()):
            return
        tensors, meta = read_checkpoint(self.path)
        if meta.get("fingerprint") != self.fingerprint:
            saved = meta.get("fingerprint", {})
            diff = sorted(k for k in set(saved) | set(self.fingerprint)
                          if saved.get(k) != self.fingerprint.get(k))
            raise ConfigError(f"{self.path}: checkpoint was written for other data or "
                              f"settings (differs in: {', '.join(diff)}); remove it, or "
                              "set resume to false (routes.<name>.resume in the config) "
                              "to start again")
        network.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        optimizer_from_tensors(self.optimizer, tensors, meta["optimizer"])
        if meta.get("scaler"):
            self.scaler.load_state_dict(meta["scaler"])
        device = next(iter(network.state_dict().values())).device
        best = {k[5:]: v.to(device) for k, v in tensors.items() if k.startswith("best.")}
        self.state.best_weights = best or None
        self.state.update_from(meta["state"])
        result.resumed_from_epoch = self.state.epoch
        logger.info("resuming from %s after epoch %d", self.path, self.state.epoch)

    def on_epoch_end(self, network, record):
        epoch = self.state.epoch
        if epoch % self.every == 0 or self.state.stopped or epoch == self.epochs:
            self.write(network, done=False)

    def on_train_end(self, network, result):
        self.write(network, done=True)

    def write(self, network, done: bool) -> None:
        """Save the run now (``done``: training has finished)."""
        tensors = state_to_tensors(network.state_dict(), "model.")
        if self.state.best_weights is not None:
            tensors.update(state_to_tensors(self.state.best_weights, "best."))
        opt_tensors, opt_meta = optimizer_to_tensors(self.optimizer)
        tensors.update(opt_tensors)
        save_checkpoint(self.path, tensors, {
            "state": self.state.to_dict(), "done": done, "fingerprint": self.fingerprint,
            "optimizer": opt_meta,
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            **self.subjects})


class LRSchedule(Callback):
    """Set the learning rate of each epoch from the epoch number alone.

    The rate comes from :func:`~neurodx.models.training.epoch_lr` (constant, or cosine
    decay to ``0.05 * lr``); depending on nothing but the epoch, a resumed run follows
    the same schedule as an uninterrupted one.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    rate : callable ``epoch -> float``
    """

    def __init__(self, optimizer, rate):
        self.optimizer = optimizer
        self.rate = rate

    def on_epoch_begin(self, network, epoch):
        for group in self.optimizer.param_groups:
            group["lr"] = self.rate(epoch)


class ProgressBar(Callback):
    """A tqdm bar of epochs with the last record's metrics.

    Drawn through :func:`neurodx._logging.progress`: only on a terminal, and not when
    neurodx is quiet (``verbose`` above ``"WARNING"``) or ``enabled`` is false.

    Parameters
    ----------
    epochs : int
    state : TrainingState
        A resumed run's bar starts at ``state.epoch``.
    enabled : bool
    """

    def __init__(self, epochs: int, state: TrainingState, enabled: bool = True):
        self.epochs = epochs
        self.state = state
        self.enabled = enabled
        self.bar = None

    def on_train_begin(self, network, result):
        self.bar = progress_bar(total=self.epochs, initial=min(self.state.epoch, self.epochs),
                                enabled=self.enabled, desc="training", unit="epoch",
                                leave=False)

    def on_epoch_end(self, network, record):
        self.bar.update(1)
        self.bar.set_postfix({k: f"{v:.3f}" for k, v in record.items()
                              if k not in ("epoch", "seconds")})

    def on_train_end(self, network, result):
        self._close()

    def on_exception(self, network, error):
        self._close()

    def _close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class HistoryLogger(Callback):
    """Log each epoch's record at INFO level (e.g. ``epoch 3/30 train_loss=0.61``)."""

    def __init__(self, epochs: int):
        self.epochs = epochs

    def on_epoch_end(self, network, record):
        logger.info("epoch %d/%d %s", record["epoch"], self.epochs,
                    " ".join(f"{k}={v:.4f}" for k, v in record.items() if k != "epoch"))


def fire(callbacks, event: str, network, payload) -> None:
    """Call ``event`` on every callback that has it (``on_train_end``: in reverse order)."""
    order = reversed(callbacks) if event == "on_train_end" else callbacks
    for cb in order:
        method = getattr(cb, event, None)
        if method is not None:
            method(network, payload)
