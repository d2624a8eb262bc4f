"""Route parameters declared per route kind (``routes.<name>.kind``).

Each kind of route a study can name declares the keys a route of that kind takes,
with their types, ranges and choices, as a model in :data:`ROUTE_KINDS`; a route of
a declared kind is validated against it when the config is loaded, so a bad value
(``overlap: 1``, ``preset: ct_fats``, ``frame_stride: 0``) stops the run before any
recording is read. A kind a study module defines itself (not declared here) is
checked by that module when it builds its routes.

The RMT kinds take the keyword arguments of their pipeline factories
(:data:`neurodx.rmt.RMT_ROUTE_KINDS`; the defaults here are the factories', tested);
``cnn`` takes a model preset and overrides of its settings (the settings declared
here are range-checked, and every key must be a setting of the preset's estimator);
``braindecode`` adds the peer network.
"""
from __future__ import annotations

import difflib
import inspect
from typing import Annotated, Any, Literal, Optional

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ._fields import Section, setting

__all__ = ["RouteParameters", "TuneParameters", "ROUTE_KINDS", "register_route_kind",
           "RMTRouteParameters", "LESParameters", "RMTTangentParameters",
           "TangentSpaceParameters", "LESTangentParameters", "LESRelativeParameters",
           "LESNonzeroParameters",
           "CNNParameters", "BraindecodeParameters"]

#: Covariance cleaning methods of :class:`neurodx.rmt.RMTCovariances` (tested against it).
CLEANING_METHODS = ("clip", "nonlinear", "lis", "qis", "gis", "none")
#: Statistics of class-relative spectra (:data:`neurodx.rmt.RELATIVE_STATISTICS`, tested).
RELATIVE_STATISTICS = ("mean_log", "mean_log2", "mean", "mean_inv", "min_log", "max_log")
#: Per-subject statistics of window features (:data:`neurodx.rmt.SUBJECT_STATS`, tested).
SUBJECT_STATISTICS = ("mean", "sd", "median", "iqr", "min", "max")


class TuneParameters(Section):
    """Nested cross-validation of a route: a grid chosen on inner folds of each training part."""

    param_grid: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(
        description="estimator parameter: values to try, e.g. {clf__C: [0.1, 1, 10]} "
                    "(names are checked against the route's estimator when it is built)",
        json_schema_extra={"x-expected": "a mapping of parameter: non-empty list"})
    inner_splits: int = setting(3, "inner stratified folds (subject-level)",
                                expected="an integer >= 2", ge=2)


class RouteParameters(Section):
    """Keys every route takes, whatever its kind."""

    kind: str = Field(description="route kind: rmt_les, rmt_tangent, tangent_space, "
                                  "rmt_les_tangent, rmt_les_relative, rmt_les_nonzero, cnn, "
                                  "braindecode, or "
                                  "one the study module defines")
    description: str = setting("", "one line for the report (default: from the route)")
    tune: Optional[TuneParameters] = setting(None, "nested cross-validation: "
                                             "{param_grid: {...}, inner_splits: 3}")


class RMTRouteParameters(RouteParameters):
    """Keys of every RMT-family route (arguments of its pipeline factory).

    ``bands``, ``sfreq``, ``window`` and ``random_state`` are set by the study (from
    ``windows`` and ``seed``); a route may override them.
    """

    classifier: Literal["svc", "logreg"] = setting(
        "svc", "final classifier: linear SVC or L2 logistic regression (balanced classes)")
    bands: Optional[dict[str, Optional[list[float]]]] = setting(
        None, "band name: [low, high] in Hz, or null for an unfiltered band (default: "
        "windows.bands)")
    sfreq: Optional[float] = setting(None, "sampling rate of the input, Hz (null: the "
                                     "recording's)", expected="a rate > 0 in Hz, or null",
                                     gt=0)
    window: Optional[float] = setting(2.0, "window length (default: windows.length)",
                                      expected="a length > 0, or null", gt=0)
    random_state: int = setting(0, "seed (default: the config's seed)",
                                expected="an integer >= 0", ge=0)
    n_jobs: int = setting(1, "parallel jobs inside the route's feature step")


class _LESWindowParameters(RMTRouteParameters):
    """Keys of the window-spectrum LES kinds (``rmt_les``, ``rmt_les_nonzero``)."""

    overlap: float = setting(0.5, "fraction of a window shared with the next (default: "
                             "windows.overlap)", expected="a fraction >= 0 and < 1",
                             ge=0, lt=1)
    n_eff: str | float = setting("spectral", "effective samples per window: spectral (from "
                                 "the band's spectrum) or a number")
    test_functions: Optional[list[str]] = setting(None, "names of the LES test functions "
                                                  "(null: the default bank)")
    stats: list[Literal[SUBJECT_STATISTICS]] = setting(
        ["mean", "sd", "median", "iqr"], "per-subject statistics of the window features",
        min_length=1)


class LESParameters(_LESWindowParameters):
    """``rmt_les``: band windows -> correlation eigenvalues -> linear eigenvalue statistics
    (MP-standardised) -> per-subject statistics -> scaler -> classifier."""

    kind: Literal["rmt_les"] = Field(description="route kind")
    standardize: bool = setting(True, "standardise each statistic by its MP null")


class RMTTangentParameters(RMTRouteParameters):
    """``rmt_tangent``: band windows -> RMT-cleaned covariances -> tangent space ->
    scaler -> classifier."""

    kind: Literal["rmt_tangent"] = Field(description="route kind")
    method: Literal[CLEANING_METHODS] = setting(
        "clip", "covariance cleaning: MP clipping, Ledoit-Wolf 2020 nonlinear shrinkage, "
        "lis / qis / gis, or none")
    overlap: float = setting(0.0, "fraction of a window shared with the next",
                             expected="a fraction >= 0 and < 1", ge=0, lt=1)
    n_eff: str | float = setting("spectral", "effective samples per window: spectral or a "
                                 "number")
    metric: str = setting("riemann", "Riemannian metric of the tangent space / class means")


class TangentSpaceParameters(RMTRouteParameters):
    """``tangent_space``: pyRiemann covariances per band -> tangent space -> scaler ->
    classifier (the field's baseline)."""

    kind: Literal["tangent_space"] = Field(description="route kind")
    estimator: str = setting("oas", "pyRiemann covariance estimator (oas, lwf, scm...)")
    window: Optional[float] = setting(None, "window length (default: windows.length; null: "
                                      "the whole recording)",
                                      expected="a length > 0, or null", gt=0)
    overlap: float = setting(0.0, "fraction of a window shared with the next",
                             expected="a fraction >= 0 and < 1", ge=0, lt=1)
    metric: str = setting("riemann", "Riemannian metric of the tangent space / class means")


class LESTangentParameters(RMTRouteParameters):
    """``rmt_les_tangent``: LES on pooled windows with c = N / T_eff <= c_max, channel
    log-powers and cleaned tangent-space features -> scaler -> classifier."""

    kind: Literal["rmt_les_tangent"] = Field(description="route kind")
    classifier: Literal["svc", "logreg"] = setting("logreg", "final classifier")
    c_max: float = setting(0.5, "largest MP ratio N / T_eff of a pooled window",
                           expected="a ratio > 0", gt=0)
    pooling: Literal["nominal", "measured"] = setting(
        "nominal", "blocks pooled per band: from the band's nominal width, or from the "
        "T_eff measured on the training subjects")
    method: Literal["clip", "nonlinear", "lis", "qis", "gis"] = setting(
        "nonlinear", "covariance cleaning of the tangent-space features")
    test_functions: Optional[list[str]] = setting(None, "names of the LES test functions "
                                                  "(null: the default bank)")
    metric: str = setting("riemann", "Riemannian metric of the tangent space / class means")


class LESRelativeParameters(RMTRouteParameters):
    """``rmt_les_relative``: eigenvalue statistics of each band's cleaned covariance
    relative to the class means learnt per fold -> scaler -> classifier."""

    kind: Literal["rmt_les_relative"] = Field(description="route kind")
    classifier: Literal["svc", "logreg"] = setting("logreg", "final classifier")
    statistics: Optional[list[Literal[RELATIVE_STATISTICS]]] = setting(
        None, "statistics of the relative spectra to keep (null: all six)", min_length=1)
    method: Literal[CLEANING_METHODS] = setting("nonlinear", "covariance cleaning")
    overlap: float = setting(0.0, "fraction of a window shared with the next",
                             expected="a fraction >= 0 and < 1", ge=0, lt=1)
    n_eff: str | float = setting("spectral", "effective samples per window: spectral or a "
                                 "number")
    metric: str = setting("riemann", "Riemannian metric of the tangent space / class means")


class LESNonzeroParameters(_LESWindowParameters):
    """``rmt_les_nonzero``: as ``rmt_les``, with statistics on the non-zero part of each
    window's spectrum against the dual MP law when c = N / T_eff > 1 (fewer time points
    than channels or regions)."""

    kind: Literal["rmt_les_nonzero"] = Field(description="route kind")
    classifier: Literal["svc", "logreg"] = setting("logreg", "final classifier")


def preset_setting(description: str, *, expected: str | None = None, **constraints) -> Any:
    """A preset setting a route may override: absent, the preset's value is kept."""
    def schema_extra(schema: dict) -> None:
        schema.pop("default", None)          # the preset's, not null
        if expected:
            schema["x-expected"] = expected

    return Field(None, description=description, json_schema_extra=schema_extra,
                 **constraints)


def _preset_names() -> tuple[str, ...]:
    from ..models.presets import PRESETS   # deferred: neurodx.models imports torch

    return tuple(PRESETS)


def _preset_enum(schema: dict) -> None:
    schema["enum"] = list(_preset_names())


def _estimator_settings(preset: str) -> list[str]:
    """The keyword arguments of the estimator class a preset builds."""
    from .. import models
    from ..models.presets import PRESETS

    return list(inspect.signature(getattr(models, PRESETS[preset][0])).parameters)


class CNNParameters(RouteParameters):
    """``cnn``: a network from a model preset (:data:`neurodx.models.PRESETS`), windows or
    slices voted per subject; any other key overrides one of the preset's settings.

    Every key is checked at load: the settings declared here for their range, and each
    key against the settings of the preset's estimator. Absent keys keep the preset's
    value.
    """

    # protected_namespaces: braindecode's "model_params" is a route key, not pydantic's
    model_config = {"extra": "allow", "protected_namespaces": ()}

    kind: Literal["cnn"] = Field(description="route kind")
    preset: str = Field(description="model preset (full size, or *_fast for smoke runs)",
                        json_schema_extra=_preset_enum)
    # Ranges as neurodx.models.TrainConfig checks them (epochs 0: calibration only).
    epochs: int = preset_setting("training epochs", expected="an integer >= 0", ge=0)
    batch_size: int = preset_setting("items per batch", expected="an integer >= 1", ge=1)
    lr: float = preset_setting("learning rate", expected="a rate > 0", gt=0)
    weight_decay: float = preset_setting("AdamW weight decay", expected="a number >= 0", ge=0)
    patience: Optional[int] = preset_setting("early stopping after this many epochs without "
                                      "improvement (null: off)",
                                      expected="an integer >= 1, or null", ge=1)
    val_fraction: float = preset_setting("share of training subjects held out for early "
                                         "stopping and calibration (0: none)",
                                         expected="a fraction >= 0 and < 1", ge=0, lt=1)
    items_per_subject: Optional[int] = preset_setting("windows/slices drawn per subject and "
                                               "epoch (null: all)",
                                               expected="an integer >= 1, or null", ge=1)
    dropout: float = preset_setting("dropout probability",
                             expected="a probability >= 0 and < 1", ge=0, lt=1)
    # "preset": the preset's own window, not windows.length / windows.overlap.
    window: Annotated[float, Field(gt=0)] | Literal["preset"] = preset_setting(
        "EEG window length, seconds (default: windows.length; preset: the preset's)",
        expected="seconds > 0, or preset")
    overlap: Annotated[float, Field(ge=0, lt=1)] | Literal["preset"] = preset_setting(
        "EEG windows: fraction shared with the next (default: windows.overlap; preset: "
        "the preset's)", expected="a fraction >= 0 and < 1, or preset")
    sfreq: Optional[float] = preset_setting("rate the EEG network works at, Hz (first of: "
                                     "this, preprocessing.sfreq, the preset's, the "
                                     "cohort's)", expected="a rate > 0 in Hz, or null", gt=0)
    frame_stride: int = preset_setting("fMRI: every n-th frame is used",
                                expected="an integer >= 1", ge=1)
    slice_shape: Optional[list[int]] = preset_setting(
        "slices are fitted (aspect kept) and padded to this [height, width] (null: as read)",
        expected="[height, width], or null", min_length=2, max_length=2)
    num_threads: Optional[int] = preset_setting("torch threads (null: every core)",
                                         expected="an integer >= 1, or null", ge=1)
    progress: bool = preset_setting("show a progress bar per epoch")
    diagnostics: bool | dict[str, Any] = preset_setting(
        "RMT diagnostics of each fold's network (true, false, or {hessian_seconds: "
        "60, hessian_items: 64, lanczos_steps: 30, slq_vectors: 3})")
    random_state: int = preset_setting("seed (default: the config's seed)",
                                expected="an integer >= 0", ge=0)

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, preset):
        names = _preset_names()
        if preset not in names:
            raise PydanticCustomError("preset", "expected one of {names}",
                                      {"names": ", ".join(names)})
        return preset

    @model_validator(mode="after")
    def _known_settings(self):
        # Every other key overrides a preset setting: it must be one the preset's estimator
        # takes (window and frame_stride are settings of different estimators).
        own = {*RouteParameters.model_fields, "preset", "model", "model_params"}
        keys = sorted((self.model_fields_set | set(self.model_extra or {})) - own)
        accepted = _estimator_settings(self.preset) if keys else []
        for key in keys:
            if key not in accepted:
                close = difflib.get_close_matches(key, accepted, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else \
                    f" (settings of preset {self.preset}: {', '.join(sorted(accepted))})"
                raise PydanticCustomError("unknown_setting", "not a setting of preset {preset}",
                                          {"key": key, "hint": hint, "preset": self.preset})
        return self


def _braindecode_models() -> tuple[str, ...]:
    from ..models.peers import BRAINDECODE_MODELS   # deferred (torch)

    return tuple(BRAINDECODE_MODELS)


def _model_enum(schema: dict) -> None:
    schema["enum"] = list(_braindecode_models())


class BraindecodeParameters(CNNParameters):
    """``braindecode``: one of braindecode's EEG networks as a peer, trained, windowed and
    voted like ``preset`` (optional extra ``neurodx[braindecode]``; without it the route
    is left out with a warning)."""

    kind: Literal["braindecode"] = Field(description="route kind")
    model: str = Field(description="braindecode network", json_schema_extra=_model_enum)
    model_params: Optional[dict[str, Any]] = setting(None, "keyword arguments of the "
                                                     "network")
    preset: str = Field("eeg_hc_fes_chr", description="preset giving windows, training "
                        "recipe and vote", json_schema_extra=_preset_enum)

    @field_validator("model")
    @classmethod
    def _known_model(cls, model):
        names = _braindecode_models()
        if model not in names:
            raise PydanticCustomError("model", "expected one of {names}",
                                      {"names": ", ".join(names)})
        return model


#: Route kind -> the model its parameters are validated against.
ROUTE_KINDS: dict[str, type[RouteParameters]] = {
    "rmt_les": LESParameters,
    "rmt_tangent": RMTTangentParameters,
    "tangent_space": TangentSpaceParameters,
    "rmt_les_tangent": LESTangentParameters,
    "rmt_les_relative": LESRelativeParameters,
    "rmt_les_nonzero": LESNonzeroParameters,
    "cnn": CNNParameters,
    "braindecode": BraindecodeParameters,
}


def register_route_kind(kind: str, model: type[RouteParameters]) -> None:
    """Declare the parameters of a new route kind (validated at load from then on).

    Parameters
    ----------
    kind : str
        The name configs give as ``routes.<name>.kind``.
    model : subclass of RouteParameters
        Its keys, with ``kind: Literal["<kind>"]``.
    """
    if not (isinstance(model, type) and issubclass(model, RouteParameters)):
        raise TypeError("model must be a subclass of RouteParameters")
    ROUTE_KINDS[kind] = model
