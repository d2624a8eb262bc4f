"""Saving and loading the CNN estimators: ``manifest.json`` + ``model.safetensors``.

The manifest holds the estimator's parameters (JSON), the classes, the input
conventions checked at prediction, the training record and the vote calibration;
the weights are safetensors (:mod:`neurodx.models.checkpoint`). No pickle is
involved, so loading a model directory never runs code from it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import __version__
from .._json import jsonable
from ..errors import ConfigError, NeurodxError
from ..preprocessing.intensity import CTIntensity, CTWindows
from .checkpoint import load_network, read_manifest, save_network
from .training import TrainResult
from .voting import VoteCalibration

__all__ = ["save_estimator", "load_fitted", "read_estimator_name"]


def _saved_params(estimator) -> dict:
    out = {}
    for key, value in estimator.get_params(deep=False).items():
        if key == "callbacks":
            out[key] = None
        elif key == "augment" and callable(value) and not isinstance(value, bool):
            out[key] = None          # only used for training
        elif key == "slice_labels":
            out[key] = None          # training only: a saved model never reads them
        elif key == "transform":
            out[key] = _encode_transform(value)
        else:
            try:
                out[key] = jsonable(value)
            except TypeError:
                raise ConfigError(f"cannot save parameter {key}={value!r}: not "
                                  "JSON-serialisable") from None
    return out


def save_estimator(estimator, directory: str | Path) -> Path:
    """Write a fitted estimator to ``directory`` (see the module docstring)."""
    return save_network(
        directory, estimator.network_, estimator=type(estimator).__name__,
        neurodx_version=__version__, estimator_params=_saved_params(estimator),
        classes=jsonable(estimator.classes_.tolist()),
        input=jsonable(estimator._input_spec()), seed=estimator.seed_,
        training=jsonable(estimator.training_.to_dict()),
        fit_subject_ids=estimator.fit_subject_ids_,
        fit_ids_are_names=estimator.fit_ids_are_names_,
        calibration=(None if getattr(estimator, "calibration_", None) is None
                     else jsonable(estimator.calibration_.to_dict())),
        vote_calibration=(None if getattr(estimator, "vote_calibration_", None) is None
                          else jsonable(estimator.vote_calibration_.to_dict())))


def read_estimator_name(directory: str | Path) -> str | None:
    """The estimator class named in a model directory's manifest."""
    return read_manifest(directory).get("estimator")


def load_fitted(cls, directory: str | Path):
    """Rebuild a fitted ``cls`` saved with :func:`save_estimator`."""
    name = read_estimator_name(directory)
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
    spec = manifest.get("vote_calibration")
    est.vote_calibration_ = None if spec is None else VoteCalibration.from_dict(spec)
    est._set_input_spec(manifest["input"])
    return est


_TRANSFORMS = {"CTWindows": CTWindows, "CTIntensity": CTIntensity}


def _encode_transform(transform):
    if transform is None:
        return None
    if type(transform) in _TRANSFORMS.values():
        return {"type": type(transform).__name__, "windows": jsonable(list(transform.windows))}
    raise ConfigError(f"cannot save transform {transform!r}: only CTIntensity, CTWindows (or "
                      "None) is stored in a model directory")


def _decode_transform(spec):
    if spec is None:
        return None
    if isinstance(spec, dict) and spec.get("type") in _TRANSFORMS:
        return _TRANSFORMS[spec["type"]]([w if isinstance(w, str) else tuple(w)
                                          for w in spec["windows"]])
    raise NeurodxError(f"unknown transform in manifest: {spec!r}")

