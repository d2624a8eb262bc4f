"""EEG window CNN + voting: one label per recording.

A subject is an :class:`mne.io.Raw` (its EEG channels), a path to an EEG file (read
with :func:`neurodx.io.read_eeg`), or an ndarray ``(n_channels, n_times)`` at
``sfreq`` Hz, optionally paired with its ID (:mod:`neurodx.models.subjects`).
Windows of ``window`` seconds with ``overlap`` are the items.
"""
from __future__ import annotations

import math
import os

import mne
import numpy as np

from ..errors import ConfigError, RecordingError
from ..io import pick_eeg_channels, read_eeg
from .augmentation import WindowAugment, make_augment
from .eeg_window_cnn import HEADS, EEGWindowCNN, min_input_samples
from .items import WindowItems
from .peers import BRAINDECODE_MODELS, BraindecodeNetwork
from .voting import POSITION_VOTING_METHODS
from .voting_estimator import VotingClassifierBase

__all__ = ["WindowVotingClassifier", "WINDOW_ARCHITECTURES"]

#: ``architecture`` of :class:`WindowVotingClassifier`: neurodx's network or braindecode's.
WINDOW_ARCHITECTURES = ("neurodx", *BRAINDECODE_MODELS)


class WindowVotingClassifier(VotingClassifierBase):
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
    n_filters_time, n_filters_spat, filter_time_length, block_filters, filter_length, pool_length, pool_stride, dropout, block_padding, head
        Network (:class:`~neurodx.models.EEGWindowCNN`; default: the 7-layer network
        with its dense head; ``head="logpower"`` or ``"mean"`` pools over time).
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
                 dropout: float = 0.5, block_padding: str = "same", head: str = "dense",
                 **shared):
        super().__init__(**shared)
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
        self.head = head

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
        if self.head not in HEADS:
            raise ConfigError(f"head must be one of {', '.join(HEADS)} (routes.<name>.head), "
                              f"got {self.head!r}")
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
        if isinstance(data, (str, os.PathLike)):
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
                            block_padding=self.block_padding, head=self.head)
