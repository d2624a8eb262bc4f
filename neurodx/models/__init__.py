"""CNN route: networks (one per module), voting, the training engine, subject-level estimators.

Networks
    :class:`SliceCNN` (configurable 2-D CNN; :func:`ct_slice_cnn` is the 7-layer CT
    network), :class:`PerPositionSliceEnsemble` (one CNN per slice position),
    :class:`SharedSliceCNN` (one CNN told the slice position), :class:`EEGWindowCNN`
    (7-layer Deep4Net-style EEG network).
Voting
    :func:`vote` and friends, pure functions from item probabilities to subjects;
    :class:`VoteCalibration` (fitted on inner validation subjects) before the vote.
Peers
    :mod:`neurodx.models.peers`: braindecode's EEG networks, ResNet-18, a plain CNN.
Training
    :func:`train_network` with :class:`TrainConfig` (inner validation by subject,
    class weights, augmentation, determinism, safetensors checkpoints and resume,
    transfer learning); :func:`predict_items`. The loop calls callbacks
    (:mod:`neurodx.models.callbacks`: early stopping, checkpoint, LR schedule,
    progress, logging).
Estimators
    :class:`SliceVotingClassifier`, :class:`WindowVotingClassifier`
    (scikit-learn compatible, ``save``/``load``); presets in :data:`PRESETS`.
Diagnostics
    :mod:`neurodx.models.diagnostics`: layer weight spectra against the MP law,
    heavy-tail exponents, Hessian eigenvalues (``diagnostics=True`` on an estimator).
"""
from .augmentation import SliceAugment, WindowAugment
from .callbacks import (Callback, Checkpoint, EarlyStopping, HistoryLogger, LRSchedule,
                        ProgressBar)
from .checkpoint import (NETWORKS, build_network, load_network, load_pretrained, read_checkpoint,
                         read_manifest, save_checkpoint, save_network)
from .eeg_window_cnn import EEG_DEEP7, EEG_SHALLOW, EEGWindowCNN, min_input_samples
from .estimators import SLICE_MODES, SliceVotingClassifier, WindowVotingClassifier, load_estimator
from .items import DatasetItems, SliceStackItems, WindowItems
from .presets import PRESETS, get_preset, make_estimator
from .shared_slice_cnn import SharedSliceCNN
from .slice_cnn import CT_SLICE_CNN, FMRI_SLICE_CNN, SliceCNN, ct_slice_cnn
from .slice_ensemble import PerPositionSliceEnsemble
from .training import (ArrayItems, TrainConfig, TrainResult, class_weights, inner_split,
                       predict_items, seeded_network, train_network)
from .voting import (CALIBRATION_METHODS, VOTING_METHODS, SubjectVotes, VoteCalibration,
                     hard_vote, logodds_vote, soft_vote, two_level_vote, vote)

__all__ = [
    # networks
    "SliceCNN", "ct_slice_cnn", "FMRI_SLICE_CNN", "CT_SLICE_CNN", "PerPositionSliceEnsemble",
    "SharedSliceCNN", "EEGWindowCNN", "EEG_DEEP7", "EEG_SHALLOW", "min_input_samples",
    "NETWORKS", "build_network",
    # voting
    "vote", "hard_vote", "soft_vote", "logodds_vote", "two_level_vote", "SubjectVotes",
    "VOTING_METHODS", "VoteCalibration", "CALIBRATION_METHODS",
    # training
    "TrainConfig", "TrainResult", "train_network", "predict_items", "inner_split",
    "class_weights", "seeded_network", "ArrayItems", "SliceStackItems", "WindowItems",
    "DatasetItems", "SliceAugment", "WindowAugment", "Callback", "EarlyStopping", "Checkpoint",
    "LRSchedule", "ProgressBar", "HistoryLogger",
    # persistence
    "save_network", "load_network", "read_manifest", "save_checkpoint", "read_checkpoint",
    "load_pretrained",
    # estimators
    "SliceVotingClassifier", "WindowVotingClassifier", "load_estimator", "SLICE_MODES",
    "PRESETS", "get_preset", "make_estimator",
]
