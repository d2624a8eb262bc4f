"""A route: how one method turns a subject's recording into a prediction.

Route kinds (the ``kind`` of a route in the config's ``routes:`` section):

* the RMT kinds of :data:`neurodx.rmt.RMT_ROUTE_KINDS` (``rmt_les``, ``rmt_tangent``,
  ``tangent_space``...), built by :func:`build_from_config`;
* ``cnn``: a model preset (:data:`neurodx.models.PRESETS`), :func:`build_preset_route`;
* ``braindecode``: a braindecode network as a peer, :func:`build_braindecode_route`.

:func:`build_routes` builds every route of a config for its modality; a study
module (``pipeline:``) is needed only for routes of its own.

**Windows.** ``windows.length`` and ``windows.overlap`` are the study's window
settings, in the modality's unit (:attr:`neurodx.study.modalities.Modality.window_unit`:
seconds for EEG, time points for region series). :func:`build_routes` gives them to
every route that windows (the RMT kinds and window CNN presets) unless the route
sets its own ``window`` / ``overlap``; a CNN route may say ``window: preset`` /
``overlap: preset`` to keep its preset's own value. ``kind: braindecode`` peers keep
their preset's windows unless the route sets them: a peer is trained exactly like
the neurodx network it is compared with.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, replace

from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from .._logging import logger
from ..errors import ConfigError
from ..rmt import RMT_ROUTE_KINDS, LinearEigenvalueStatistics
from .modalities import get_modality

__all__ = ["Route", "build_routes", "rmt_settings", "build_from_config", "build_preset_route",
           "preset_routes", "adapt_to_recordings", "build_braindecode_route",
           "FROM_PRESET"]

#: A CNN route's ``window`` / ``overlap`` value meaning "the preset's own".
FROM_PRESET = "preset"


@dataclass
class Route:
    """One classification route of a study.

    Parameters
    ----------
    name : str
        Short identifier used in tables and ``predictions.csv``.
    estimator : sklearn estimator
        Takes a list with one item per subject (the loaded recording) in ``fit``,
        ``predict`` and ``predict_proba``. Usually a :class:`~sklearn.pipeline.Pipeline`
        of neurodx steps, so that a trained route is stored as one skops file.
    stateless_steps : int
        How many leading steps of ``estimator`` (a Pipeline) learn nothing in
        ``fit`` (window spectra, band covariances...). The comparison applies them
        once per subject and cross-validates only the remaining steps; this is not
        leakage because those steps never see another subject. Everything fitted
        (scalers, tangent-space reference means, CNN weights) must come after.
    description : str
        One line for the report.
    param_grid : dict, optional
        Hyperparameters to tune by nested cross-validation (``{"classifier__C":
        [0.1, 1, 10]}``, names as in ``estimator``). Each outer training part is
        split again by subject (``inner_splits`` stratified folds) and
        :class:`~sklearn.model_selection.GridSearchCV` picks the setting there, so
        the outer test subjects never influence the choice.
    inner_splits : int
        Inner folds of the nested cross-validation.
    """

    name: str
    estimator: BaseEstimator
    stateless_steps: int = 0
    description: str = ""
    param_grid: dict | None = None
    inner_splits: int = 3

    def __post_init__(self):
        if self.stateless_steps and not isinstance(self.estimator, Pipeline):
            raise ValueError(f"route {self.name!r}: stateless_steps needs a Pipeline estimator")
        if isinstance(self.estimator, Pipeline) and \
                not 0 <= self.stateless_steps < len(self.estimator.steps):
            raise ValueError(f"route {self.name!r}: stateless_steps must leave at least one "
                             f"step to fit (pipeline has {len(self.estimator.steps)})")
        for step_name, step in (self.estimator.steps[:self.stateless_steps]
                                if self.stateless_steps else ()):
            # The LES step learns its MP reference (n_eff_, null moments) from the
            # subjects it is fitted on: run once per subject, each subject would get
            # its own reference (as bundles trained before this rule did).
            if isinstance(step, LinearEigenvalueStatistics):
                raise ConfigError(
                    f"route {self.name!r}: step {step_name!r} learns its Marchenko-Pastur "
                    f"reference from the training subjects, so it cannot be among the "
                    f"{self.stateless_steps} stateless steps; a model bundle holding this "
                    "route must be trained again with `neurodx train`")

    def extract(self, data, *, return_names: bool = False, start: int = 0):
        """Apply the stateless leading steps to one subject's loaded recording.

        With ``return_names``, also return the output's feature names where the
        steps can name them (``"alpha_vne_mean"``), else None. ``start`` > 0 means
        ``data`` is already the output of the first ``start`` steps (the comparison
        computes window spectra once and shares them with the report).
        """
        if not self.stateless_steps:
            return (data, None) if return_names else data
        if not 0 <= start <= self.stateless_steps:
            raise ValueError(f"start must be within the {self.stateless_steps} stateless steps")
        # fit_transform on a clone: the steps learn nothing (that is what stateless
        # means), and recent scikit-learn refuses ``transform`` on an unfitted Pipeline.
        prefix = clone(self.estimator[start:self.stateless_steps])
        out = prefix.fit_transform([data])[0] if len(prefix) else data
        if not return_names:
            return out
        names = None
        for first in range(len(prefix)):   # the first step that can name them
            try:
                names = [str(n) for n in prefix[first:].get_feature_names_out()]
                break
            except (AttributeError, ValueError):
                continue
        return out, names

    @property
    def cv_estimator(self) -> BaseEstimator:
        """The part of the route that is fitted inside each fold (tuned, if asked)."""
        fitted = self.estimator[self.stateless_steps:] if self.stateless_steps \
            else self.estimator
        if not self.param_grid:
            return fitted
        # One item per subject, so the inner folds are subject-level by construction.
        inner = StratifiedKFold(self.inner_splits, shuffle=True, random_state=0)
        return GridSearchCV(fitted, self.param_grid, cv=inner, scoring="balanced_accuracy",
                            error_score="raise")


def _tuning(name: str, estimator, tune) -> dict:
    """``param_grid``/``inner_splits`` of a route's ``tune`` mapping, checked."""
    if not tune:
        return {}
    if not isinstance(tune, dict) or not isinstance(tune.get("param_grid"), dict):
        raise ConfigError(f"routes.{name}.tune: expected a mapping with param_grid "
                          "(e.g. {param_grid: {classifier__C: [0.1, 1, 10]}, inner_splits: 3})")
    unknown_keys = sorted(set(tune) - {"param_grid", "inner_splits"})
    if unknown_keys:
        raise ConfigError(f"routes.{name}.tune: unknown key(s) {', '.join(unknown_keys)} "
                          "(known: param_grid, inner_splits)")
    known = estimator.get_params()
    for key, values in tune["param_grid"].items():
        if key not in known:
            close = sorted(k for k in known if k.endswith(key.split("__")[-1]))[:5]
            raise ConfigError(f"routes.{name}.tune.param_grid.{key}: not a parameter of this "
                              f"route" + (f" (similar: {', '.join(close)})" if close else ""))
        if not isinstance(values, list) or not values:
            raise ConfigError(f"routes.{name}.tune.param_grid.{key}: expected a non-empty list")
    inner = tune.get("inner_splits", 3)
    if not isinstance(inner, int) or inner < 2:
        raise ConfigError(f"routes.{name}.tune.inner_splits: expected an integer >= 2")
    return {"param_grid": dict(tune["param_grid"]), "inner_splits": inner}


def build_from_config(name: str, factory, params: dict, stateless_steps: int = 0,
                      **fixed) -> Route:
    """A route from a pipeline factory and the route's config mapping.

    ``params`` holds ``kind``, an optional ``description``, an optional ``tune``
    (nested cross-validation: ``{param_grid: {...}, inner_splits: 3}``) and keyword
    arguments of ``factory``; ``fixed`` are the study's own arguments (bands,
    window...). A parameter the factory does not take is reported as a config
    error naming the route (``routes.<name>``), not as a Python ``TypeError``.
    """
    kwargs = {k: v for k, v in params.items() if k not in ("kind", "description", "tune")}
    accepted = inspect.signature(factory).parameters
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        settable = sorted(set(accepted) - set(fixed))
        raise ConfigError(f"routes.{name}: unknown parameter(s) {', '.join(unknown)} for "
                          f"{factory.__name__} (settable: {', '.join(settable)})")
    estimator = factory(**{**fixed, **kwargs})
    description = params.get("description") or (factory.__doc__ or name).strip().split("\n")[0]
    return Route(name, estimator, stateless_steps, description=description,
                 **_tuning(name, estimator, params.get("tune")))


def build_preset_route(name: str, params: dict, *, seed: int, context=None, **fixed) -> Route:
    """A CNN route from a model preset (see :data:`neurodx.models.PRESETS`).

    ``params`` is the route's config mapping: ``preset`` names the preset, every
    other key (besides ``kind`` and ``description``) overrides one of its settings.
    A CNN route has no stateless prefix: slicing/windowing happens inside the
    estimator, on each fold's subjects.

    With the study ``context``, an EEG window CNN is set to the recordings' rate
    (:func:`adapt_to_recordings`).
    """
    # neurodx.models imports torch: loaded when a CNN route is built, not with the study
    from ..models import PRESETS, make_estimator

    params = dict(params)
    description = params.pop("description", "")
    tune = params.pop("tune", None)
    params.pop("kind", None)
    preset = params.pop("preset", None)
    if preset not in PRESETS:
        raise ConfigError(f"routes.{name}.preset: expected one of {', '.join(PRESETS)}, "
                          f"got {preset!r}")
    try:
        estimator = make_estimator(preset, random_state=seed, **{**fixed, **params})
    except TypeError as err:
        raise ConfigError(f"routes.{name}: {err}") from None
    if context is not None:
        adapt_to_recordings(name, estimator, params, context)
    return Route(name, estimator, 0, description=description or f"CNN preset {preset}",
                 **_tuning(name, estimator, tune))


def build_braindecode_route(name: str, params: dict, *, seed: int, context=None) -> Route | None:
    """A braindecode peer route (``kind: braindecode``, ``model: ShallowFBCSPNet``), or None.

    The network is braindecode's (``model``: ``ShallowFBCSPNet``, ``Deep4Net`` or
    ``EEGNet``; ``model_params``: its keyword arguments); windows, training recipe,
    voting and vote calibration come from ``preset`` (default ``eeg_hc_fes_chr``), so
    the peer is trained exactly like neurodx's network on the same folds. Other keys
    override preset settings as for ``kind: cnn``. Without the optional
    ``braindecode`` extra the route is left out with a warning naming the route
    (returns None), so a study still runs.
    """
    # the peers' module imports torch (and braindecode when asked): loaded only here
    from ..models.peers import BRAINDECODE_MODELS, braindecode_available
    from ..models.peers.braindecode_net import MISSING_BRAINDECODE

    # The preset's windows are the peer's default already: "preset" says so out loud.
    params = {k: v for k, v in params.items()
              if not (k in ("window", "overlap") and v == FROM_PRESET)}
    model = params.pop("model", None)
    if model not in BRAINDECODE_MODELS:
        raise ConfigError(f"routes.{name}.model: expected one of "
                          f"{', '.join(BRAINDECODE_MODELS)}, got {model!r}")
    if not braindecode_available():
        logger.warning("route %s skipped: %s", name, MISSING_BRAINDECODE)
        return None
    params.setdefault("preset", "eeg_hc_fes_chr")
    params.setdefault("diagnostics", False)    # the RMT diagnostics are neurodx's networks
    params.setdefault("description", f"braindecode {model} (peer), same windows, training "
                                     "and vote")
    params["architecture"] = model
    params["architecture_params"] = params.pop("model_params", None)
    return build_preset_route(name, params, seed=seed, context=context)


def adapt_to_recordings(name: str, estimator, params: dict, context) -> None:
    """Set an EEG window CNN's rate from the config and check its windows, before any fit.

    The rate the network works at is, first to last: the route's own ``sfreq``
    (``routes.<name>.sfreq``), the config's ``preprocessing.sfreq``, the preset's
    ``sfreq`` (250 Hz for ``eeg_hc_fes_chr``), the cohort's rate. Recordings at
    another rate are resampled to it inside the route, one subject at a time
    (:class:`~neurodx.models.WindowVotingClassifier`). A window shorter than the
    network's receptive field is a :class:`~neurodx.errors.ConfigError` naming
    ``routes.<name>.window``. Other estimators are left as they are.
    """
    if not hasattr(estimator, "check_window"):
        return
    if "sfreq" not in params and context.resample_to:
        estimator.set_params(sfreq=float(context.resample_to))
    if context.data_rate:
        estimator.check_window(float(context.data_rate), setting=f"routes.{name}.window")


def configured_routes(context) -> dict:
    """``{name: settings}`` of the config's ``routes:`` section (validated at load)."""
    return context.config["routes"]


def preset_routes(context) -> list[Route]:
    """Every route of a config whose routes are all CNN presets (``kind: cnn``)."""
    for name, params in configured_routes(context).items():
        if params["kind"] != "cnn":
            raise ConfigError(f"routes.{name}: unknown kind {params['kind']!r} for this study "
                              "(known: cnn)")
    return build_routes(context)


def _windows(params: dict, takes, context) -> dict:
    """The study's ``windows.length``/``overlap`` for a route that windows, as keyword
    arguments for the parameters in ``takes``, unless the route sets its own."""
    return {key: value for key, value in (("window", context.window_length),
                                          ("overlap", context.window_overlap))
            if key in takes and key not in params}


def rmt_settings(params: dict, factory, context) -> dict:
    """The study's arguments of an RMT factory: the modality's bands and rate, the
    seed, and ``windows.length``/``overlap`` where the route does not set its own."""
    cfg = context.config
    modality = get_modality(context.modality)
    return dict(bands=modality.rmt_bands(cfg), sfreq=modality.rmt_sfreq,
                random_state=context.seed,
                **_windows(params, inspect.signature(factory).parameters, context))


def _rmt_route(name: str, params: dict, context, modality) -> Route:
    """An RMT-kind route, as the modality runs it (volumes: on region series)."""
    factory, stateless = RMT_ROUTE_KINDS[params["kind"]]
    route = build_from_config(name, factory, params, stateless,
                              **rmt_settings(params, factory, context))
    return modality.adapt_rmt_route(route, context)


def _cnn_route(name: str, params: dict, context) -> Route:
    """A ``kind: cnn`` route: its preset, with the study's windows for a window CNN."""
    from ..models import PRESETS     # imports torch (see build_preset_route)

    params = dict(params)
    cls_name, settings = PRESETS.get(params.get("preset"), ("", {}))
    for key in ("window", "overlap"):
        if params.get(key) == FROM_PRESET:
            del params[key]          # the preset's own value, said out loud in the config
            settings = {k: v for k, v in settings.items() if k != key}
    params.update(_windows(params, settings, context))
    fixed = get_modality(context.modality).slice_settings(context.config, context.cohort_root) \
        if cls_name == "SliceVotingClassifier" else {}
    return build_preset_route(name, params, seed=context.seed, context=context, **fixed)


def build_routes(context) -> list[Route]:
    """Every route of the config's ``routes:`` section, for the study's modality.

    The default of a study without a ``pipeline:`` module (and what the shipped
    study modules return). Route kinds: the RMT kinds, ``cnn`` and ``braindecode``
    (those the modality takes, :attr:`~neurodx.study.modalities.Modality.route_kinds`).
    ``windows.length`` / ``windows.overlap`` reach every route that windows, in the
    modality's unit (see the module docstring).

    Raises
    ------
    ConfigError
        A route of a kind this modality does not take.
    """
    modality = get_modality(context.modality)
    routes = []
    for name, params in configured_routes(context).items():
        kind = params["kind"]
        if kind not in modality.route_kinds:
            raise ConfigError(f"routes.{name}: unknown kind {kind!r} for this study "
                              f"(known: {', '.join(modality.route_kinds)})")
        if kind == "cnn":
            routes.append(_cnn_route(name, params, context))
        elif kind == "braindecode":
            route = build_braindecode_route(name, params, seed=context.seed, context=context)
            if route is not None:
                routes.append(route)
        else:
            routes.append(_rmt_route(name, params, context, modality))
    return routes
