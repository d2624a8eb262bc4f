"""The base of the subject-level CNN estimators: shared parameters, fit, vote, save.

:class:`VotingClassifierBase` hides training (:func:`~neurodx.models.train_network`)
and voting (:mod:`neurodx.models.voting`) behind ``fit(subjects, y)``,
``predict(subjects)``, ``predict_proba(subjects)`` and ``vote_details(subjects)``;
subclasses say how a subject becomes items (:mod:`neurodx.models.slice_voting`,
:mod:`neurodx.models.window_voting`). Subjects and their IDs:
:mod:`neurodx.models.subjects`; saving: :mod:`neurodx.models.persistence`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.multiclass import check_classification_targets

from .._logging import logger
from ..errors import ConfigError, NeurodxError, RecordingError
from .augmentation import make_augment
from .inference import INFERENCE_DTYPES, InferenceNetwork
from .persistence import load_fitted, read_estimator_name, save_estimator
from .subjects import subject_entries
from .training import (TrainConfig, item_targets, predict_items, resolve_device, seeded_network,
                       torch_session, train_network)
from .voting import CALIBRATION_METHODS, POSITION_VOTING_METHODS, VOTING_METHODS, \
    SUBJECT_CALIBRATED_VOTES, VoteCalibration, lexicographic_argmax, margins, vote

__all__ = ["VotingClassifierBase", "load_estimator"]

_TRAIN_PARAMS = ("epochs", "batch_size", "lr", "weight_decay", "val_fraction", "patience",
                 "class_weight", "device", "num_threads", "progress", "eval_batch_size",
                 "resume", "lr_schedule", "items_per_subject", "precise_bn")
# Parameters that do not change what is learnt (left out of the checkpoint run name).
_RUNTIME_PARAMS = {"device", "num_threads", "progress", "eval_batch_size", "inference_dtype",
                   "resume", "checkpoint_dir", "callbacks", "diagnostics"}
# Largest spread of the validation subjects' item or vote probabilities that counts as
# "all identical": no calibration or threshold can be fitted on them (_fit_calibration).
_NO_SPREAD = 1e-9


def _all_alike(proba: np.ndarray) -> bool:
    """Whether every row of ``proba`` is the same, to ``_NO_SPREAD``."""
    return bool(np.ptp(proba, axis=0).max() <= _NO_SPREAD)
# Estimator classes by name, for load_estimator (filled as subclasses are defined).
_ESTIMATORS: dict[str, type] = {}


class VotingClassifierBase(ClassifierMixin, BaseEstimator):
    """Shared parameters and fit / predict / vote / save machinery of the CNN estimators.

    The parameters below are common to every subclass and stored here once. A
    subclass's ``__init__`` lists its own parameters and takes these as
    ``**shared``; its signature is extended with them (:meth:`__init_subclass__`), so
    scikit-learn's ``get_params``, ``clone`` and ``set_params`` see every parameter
    and an unknown keyword is refused.

    Parameters
    ----------
    epochs, batch_size, lr, weight_decay, val_fraction, patience, class_weight, device, num_threads, eval_batch_size, lr_schedule, items_per_subject, precise_bn
        Training (:class:`~neurodx.models.TrainConfig`).
    augment : bool, dict, callable or None
    random_state : int or None
    progress : bool
    inference_dtype : {"float32", "bfloat16"}
    checkpoint_dir, resume, init_from, freeze_features, callbacks, diagnostics, calibration, architecture, architecture_params
        See :class:`~neurodx.models.SliceVotingClassifier`.
    """

    _augment_kind = "slice"
    _tuple_params: tuple[str, ...] = ()

    def __init__(self, *, epochs: int = 30, batch_size: int = 64, lr: float = 1e-3,
                 weight_decay: float = 1e-4, val_fraction: float = 0.2,
                 patience: int | None = 10, class_weight: str | None = "balanced",
                 augment=True, device: str = "auto", num_threads: int | None = None,
                 random_state: int | None = 0, progress: bool = True,
                 eval_batch_size: int = 256, inference_dtype: str = "float32",
                 checkpoint_dir=None, resume: bool = True, init_from=None,
                 freeze_features: bool = False, callbacks=None, diagnostics=False,
                 lr_schedule: str = "constant", calibration: str | None = None,
                 architecture: str = "neurodx", architecture_params: dict | None = None,
                 items_per_subject: int | None = None, precise_bn: bool = False):
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

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _ESTIMATORS[cls.__name__] = cls
        own = inspect.signature(cls.__init__)
        if not any(p.kind is p.VAR_KEYWORD for p in own.parameters.values()):
            return
        # scikit-learn reads the parameters from the signature of __init__: the subclass's
        # own ones, then the shared ones of this class (keyword-only, with their defaults).
        shared = list(inspect.signature(VotingClassifierBase.__init__).parameters.values())[1:]
        params = [p for p in own.parameters.values() if p.kind is not p.VAR_KEYWORD]
        cls.__init__.__signature__ = own.replace(parameters=params + shared)

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

    def _fit_targets(self, items, ids, classes) -> np.ndarray | None:
        """Per-item training targets when they differ from the subjects' labels (fit only).

        Called by ``fit`` with the training subjects' items only; None: every item is
        trained towards its subject's label.
        """
        return None

    def _vote_options(self) -> dict:
        """Extra keyword arguments of :func:`~neurodx.models.voting.vote` (fitted model)."""
        return {}

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

    def fit(self, subjects, y):
        """Train on ``subjects`` with labels ``y``.

        Parameters
        ----------
        subjects : sequence
            One entry per subject, ``(subject_id, data)`` or the data alone
            (:mod:`neurodx.models.subjects`).
        y : array-like (n_subjects,)

        Returns
        -------
        self
        """
        self._check_params()
        ids, data, explicit = subject_entries(subjects)
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
        items.targets = self._fit_targets(items, ids, classes)
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
        """Vote calibration on the items of the inner validation subjects only (no test data).

        Votes in :data:`~neurodx.models.voting.SUBJECT_CALIBRATED_VOTES` are calibrated
        once more, per subject, on the same subjects (``vote_calibration_``).
        """
        self.vote_calibration_ = None
        if self.calibration is None:
            return None
        groups = np.asarray(items.groups)
        val = np.flatnonzero(np.isin(groups, np.asarray(result.val_subjects, dtype=groups.dtype)))
        labels = item_targets(items)[val]
        if np.unique(labels).size < 2:
            raise ConfigError(f"calibration: the inner validation subjects cover one class only "
                              f"({len(result.val_subjects)} subjects); raise "
                              "routes.<name>.val_fraction or set calibration to null")
        device = resolve_device(self.device)
        with torch_session(config.seed, self.num_threads, deterministic=False, device=device):
            proba = predict_items(network, items, index=val, batch_size=self.eval_batch_size,
                                  device=device)
        if _all_alike(proba):
            # Every validation item scored alike: a calibration fitted on them maps every
            # item to one constant (the class balance), which ties every subject and hands
            # it to the first class. The uncalibrated output is what the network says.
            logger.warning("vote calibration not fitted: the %d inner validation subjects' "
                           "items are all scored alike (the network does not separate them)",
                           len(result.val_subjects))
            return None
        calibration = VoteCalibration(self.calibration).fit(proba, labels, groups[val])
        options = self._vote_options()
        if options.get("method", self.voting) in SUBJECT_CALIBRATED_VOTES:
            # The vote's own threshold (a maximum over slices leans to "lesion"), fitted on
            # the validation subjects' votes against their patient labels: one row each.
            votes = vote(calibration.transform(proba), groups[val],
                         **{"method": self.voting, **options})
            subject_label = dict(zip(groups[val].tolist(), np.asarray(items.labels)[val]))
            truth = np.array([subject_label[s] for s in votes.subjects.tolist()])
            if np.unique(truth).size < proba.shape[1]:
                return calibration           # a threshold needs every class among them
            if _all_alike(votes.proba):
                # Identical votes (e.g. every validation subject's top slices saturated):
                # a threshold fitted on them is a constant 0.5 that ties every subject and
                # hands it to the first class. The uncalibrated vote is what the network says.
                logger.warning("vote threshold not fitted: the %d inner validation subjects' "
                               "votes are identical (the network does not separate them)",
                               len(votes.subjects))
            else:
                self.vote_calibration_ = VoteCalibration(self.calibration).fit(
                    votes.proba, truth, votes.subjects)
        return calibration

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
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit "
                                 "or load a saved model")

    def _inference_network(self) -> InferenceNetwork:
        """The inference copy of ``network_`` (batch norm folded, channels_last, dtype),
        built once per network and weights state.

        Building it (a deep copy, then folding) takes ~0.2 s for the 31-member fMRI
        ensemble, a tenth of scoring one subject, and ``neurodx score`` predicts subject
        by subject. The key holds the network object itself and every parameter's and
        buffer's in-place version counter, so a refit, a load or an in-place weight
        change builds a new copy.
        """
        net = self.network_
        key = (self.inference_dtype,
               tuple(t._version for t in (*net.parameters(), *net.buffers())))
        cached = self.__dict__.get("_inference_cache")
        if cached is None or cached[0] is not net or cached[1] != key:
            cached = (net, key, InferenceNetwork(net, self.inference_dtype))
            self._inference_cache = cached
        return cached[2]

    def _votes(self, subjects):
        self._check_fitted()
        ids, data, explicit = subject_entries(subjects)
        if not ids:
            raise ConfigError("no subjects to predict")
        device = resolve_device(self.device)
        probas, groups, positions = [], [], []
        network = self._inference_network()
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
        options = {"method": self.voting, **self._vote_options()}
        votes = vote(probas, np.concatenate(groups),
                     positions=None if options["method"] not in POSITION_VOTING_METHODS
                     else np.concatenate(positions), **options)
        if getattr(self, "vote_calibration_", None) is not None:
            proba = self.vote_calibration_.transform(votes.proba)
            predicted, tied = lexicographic_argmax(proba, votes.counts.astype(float))
            votes = dataclasses.replace(votes, proba=proba, predicted=predicted, tied=tied,
                                        margin=margins(proba, predicted))
        return ids, explicit, votes

    def predict_proba(self, subjects) -> np.ndarray:
        """Subject-level class probabilities ``(n_subjects, n_classes)`` (``classes_`` order).

        Hard voting gives vote fractions; soft voting the mean item probability;
        log-odds voting the renormalised sigmoid of the mean item log-odds; two-level
        voting the fractions of slice positions won by each class.
        """
        return self._votes(subjects)[2].proba

    def predict(self, subjects) -> np.ndarray:
        """One label per subject (vote winner; ties broken as in :mod:`neurodx.models.voting`)."""
        votes = self._votes(subjects)[2]
        return self.classes_[votes.predicted]

    def vote_details(self, subjects) -> pd.DataFrame:
        """One row per subject: prediction, margin, tie flag, votes and probability per class.

        Column ``seen_in_training`` says whether the subject id was among the
        subjects the model was fit on (``None`` when either side has positional ids).
        """
        ids, explicit, votes = self._votes(subjects)
        frame = votes.to_frame(self.classes_.tolist())
        frame["subject"] = ids
        if explicit and self.fit_ids_are_names_:
            fit_ids = set(self.fit_subject_ids_)
            frame["seen_in_training"] = [s in fit_ids for s in ids]
        else:
            frame["seen_in_training"] = None
        return frame


    # -- persistence ---------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the fitted model to ``directory``: ``manifest.json`` + ``model.safetensors``.

        The manifest holds the estimator's parameters, the classes, the input
        conventions checked at prediction, and the training record (history,
        training and validation subjects). No pickle is involved.
        """
        self._check_fitted()
        return save_estimator(self, directory)

    @classmethod
    def load(cls, directory: str | Path):
        """Rebuild a fitted estimator saved with :meth:`save`."""
        return load_fitted(cls, directory)


def load_estimator(directory: str | Path):
    """Load a saved :class:`SliceVotingClassifier` or :class:`WindowVotingClassifier`."""
    name = read_estimator_name(directory)
    if name not in _ESTIMATORS:
        raise NeurodxError(f"{directory}: not a saved neurodx estimator (estimator={name!r})")
    return _ESTIMATORS[name].load(directory)
