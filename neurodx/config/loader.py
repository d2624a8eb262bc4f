"""Reading a YAML config: parse, apply ``--set`` overrides, validate, resolve paths.

A value the schema (:mod:`neurodx.config.schema`, :mod:`neurodx.config.routes`)
does not allow is a :class:`~neurodx.errors.ConfigError` naming the file and the
key's dotted path, before any work is done. Relative paths in ``cohort.path``,
``pipeline`` and ``volume.atlas`` are resolved against the config file's folder.

``pipeline`` names a Python file that ``neurodx compare`` and ``neurodx train``
import, i.e. code that runs with the user's permissions. A config is data that
may come from anyone, so a pipeline file outside the study modules shipped in
this repository's ``pipelines/`` folder (:data:`neurodx.config.SHIPPED_PIPELINES`,
symbolic links resolved) is refused unless the caller opts in (``allow_code=True``,
``--allow-code`` on the command line).
"""
from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import ConfigError
from ._messages import describe_error
from .routes import ROUTE_KINDS, RouteParameters
from .schema import StudyConfig


class _YAMLLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 numbers: ``1e-3`` and ``5E4`` are floats.

    PyYAML follows YAML 1.1, where a float needs a dot (``1.0e-3``) and ``1e-3`` is the
    string "1e-3"; a learning rate or weight decay written the usual way would then
    reach an estimator as text.
    """


_YAMLLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_YAMLLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                  |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                  |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                  |[-+]?\.(?:inf|Inf|INF)
                  |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def _yaml(text):
    return yaml.load(text, Loader=_YAMLLoader)   # noqa: S506 (a SafeLoader subclass)

__all__ = ["Config", "load_config", "parse_assignments", "validate_config", "DEFAULTS",
           "FREE_FORM"]


class _FreeForm(dict):
    """Marks a mapping whose keys are the user's own (route names, band names)."""


FREE_FORM = _FreeForm


def _defaults() -> dict[str, Any]:
    out = StudyConfig().model_dump()
    out["routes"] = _FreeForm()
    out["windows"]["bands"] = _FreeForm(out["windows"]["bands"])
    return out


#: Every key with its default (a plain-dict view of :class:`StudyConfig`); route and
#: band names are the user's own (:data:`FREE_FORM` mappings).
DEFAULTS: dict[str, Any] = _defaults()

# Mappings a YAML file may leave empty (``cv:`` with nothing under it): their defaults.
_SECTIONS = tuple(k for k, v in DEFAULTS.items() if isinstance(v, dict))


class _UndeclaredRoute(RouteParameters):
    """A route of a kind a study module defines itself: its keys are that module's."""

    model_config = {"extra": "allow"}


@dataclass(frozen=True)
class Config:
    """A validated configuration.

    Attributes
    ----------
    data : dict
        Defaults merged with the file (route settings as written).
    path : Path or None
        The file it came from.
    sha256 : str
        Hash of the file's bytes (recorded in run manifests).
    model : StudyConfig
        The same settings as a typed object (``cfg.model.cv.n_splits``; routes as
        their kind's parameter models), for new code. A route key the file leaves
        out shows its model's default (``model_fields_set`` says which were given);
        the value the route gets is decided when routes are built (``windows``, the
        preset).
    """

    data: dict
    path: Path | None
    sha256: str

    def __getitem__(self, key):
        return self.data[key]

    def get(self, key, default=None):
        return self.data.get(key, default)

    @property
    def study_name(self) -> str:
        """``study:``, the study's name in outputs ("" when the config gives none)."""
        return self.data["study"]

    @cached_property
    def model(self) -> StudyConfig:
        return _typed(self.data, str(self.path) if self.path else "<config>")


def _type_name(value) -> str:
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _deep_update(base: dict, updates: dict) -> dict:
    out = dict(base)
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_update(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_assignments(assignments) -> dict:
    """Turn ``["cv.n_splits=3", "routes.cnn.epochs=2"]`` into nested overrides.

    Values are parsed as YAML (``3`` is an integer, ``[1, 4]`` a list, ``null`` None),
    so a command line can change any config value; the result is validated like
    the file itself.
    """
    out: dict = {}
    for item in assignments or ():
        key, sep, value = str(item).partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"--set {item!r}: expected KEY.PATH=VALUE (e.g. cv.n_splits=3)")
        try:
            parsed = _yaml(value)
        except yaml.YAMLError:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML") from None
        holder = out
        *parents, leaf = key.split(".")
        for part in parents:
            holder = holder.setdefault(part, {})
            if not isinstance(holder, dict):
                raise ConfigError(f"--set {item!r}: {part} is set twice")
        holder[leaf] = parsed
    return out


def _route_models(routes: Any, source: str) -> dict[str, RouteParameters]:
    """Each route validated by its kind's model (:data:`~neurodx.config.routes.ROUTE_KINDS`)."""
    if not isinstance(routes, dict):
        raise ConfigError(f"{source}: routes: expected a mapping of route name: settings, "
                          f"got {routes!r}")
    out = {}
    for name, params in routes.items():
        if not isinstance(params, dict) or "kind" not in params:
            raise ConfigError(f"{source}: routes.{name}: expected a mapping with a 'kind'")
        model = ROUTE_KINDS.get(params["kind"], _UndeclaredRoute) \
            if isinstance(params["kind"], str) else _UndeclaredRoute
        try:
            out[name] = model.model_validate(params)
        except ValidationError as err:
            raise ConfigError(f"{source}: {describe_error(err, model, ('routes', name))}") \
                from None
    return out


def validate_config(given: dict, source: str = "<config>") -> StudyConfig:
    """Validate a config mapping (as read from YAML) against the declared schema.

    Parameters
    ----------
    given : dict
        The settings; absent keys take their defaults.
    source : str
        What errors name (the file).

    Returns
    -------
    StudyConfig
        The typed settings, routes as their kind's parameter models.

    Raises
    ------
    ConfigError
        One line: ``source: dotted.key.path: what is wrong``.
    """
    given = {k: v for k, v in given.items() if not (v is None and k in _SECTIONS)}
    windows = given.get("windows")
    if isinstance(windows, dict) and windows.get("bands", 0) is None:
        given["windows"] = {k: v for k, v in windows.items() if k != "bands"}
    routes = _route_models(given.get("routes", {}), source)
    try:
        model = StudyConfig.model_validate(given)
    except ValidationError as err:
        raise ConfigError(f"{source}: {describe_error(err, StudyConfig)}") from None
    # The routes field holds the validated route models (typed access).
    return model.model_copy(update={"routes": routes})


def _typed(data: dict, source: str) -> StudyConfig:
    return validate_config(copy.deepcopy(data), source)


def _check_pipeline(value: str, source: str, allow_code: bool) -> None:
    """Refuse a pipeline file outside ``SHIPPED_PIPELINES`` unless code is allowed."""
    from . import SHIPPED_PIPELINES   # read at call time: tests point it elsewhere

    if allow_code or Path(value).is_relative_to(SHIPPED_PIPELINES):
        return
    raise ConfigError(f"{source}: pipeline: {value} is outside neurodx's pipelines/ folder; "
                      "a pipeline file is Python code that runs with your permissions, so "
                      "pass --allow-code if you trust it")


def _as_data(model: StudyConfig, given: dict) -> dict:
    """The plain-dict view: declared sections with defaults, user mappings as written."""
    data = model.model_dump(exclude={"routes"})
    out = {}
    for key in StudyConfig.model_fields:          # declared order (manifests keep it)
        out[key] = copy.deepcopy(given.get("routes") or {}) if key == "routes" else data[key]
    bands = (given.get("windows") or {}).get("bands")
    out["windows"]["bands"] = copy.deepcopy(bands) if bands is not None else \
        copy.deepcopy(dict(DEFAULTS["windows"]["bands"]))
    return out


def load_config(path: str | Path | None = None, *, text: str | None = None,
                overrides: dict | None = None, allow_code: bool = False) -> Config:
    """Load and validate a YAML configuration.

    Parameters
    ----------
    path : str | Path, optional
        The YAML file.
    text : str, optional
        YAML text instead of a file (relative paths then resolve against the cwd).
    overrides : dict, optional
        Nested values applied after the file (e.g. ``{"cohort": {"path": ...}}``).
    allow_code : bool
        Accept a ``pipeline`` file outside ``SHIPPED_PIPELINES`` (it is
        imported, i.e. run, by ``compare`` and ``train``). Off by default.

    Raises
    ------
    ConfigError
        An unknown key, a value of the wrong type or out of range, invalid YAML, or
        a pipeline file outside ``pipelines/`` without ``allow_code``.
    """
    if (path is None) == (text is None):
        raise ValueError("give exactly one of path or text")
    source = str(path) if path is not None else "<config>"
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        raw_bytes = path.read_bytes()
    else:
        raw_bytes = text.encode()
    try:
        given = _yaml(raw_bytes)
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML ({str(err).splitlines()[0]})") from None
    if given is None:               # an empty file: every default
        given = {}
    if not isinstance(given, dict):
        raise ConfigError(f"{source}: expected a mapping of settings (study:, cohort:, "
                          f"routes: ...) at the top level, got {_type_name(given)}")
    given = _deep_update(given, overrides or {})
    model = validate_config(given, source)
    data = _as_data(model, given)
    base = path.parent if path is not None else Path.cwd()
    for section, key in (("cohort", "path"), (None, "pipeline"), ("volume", "atlas")):
        holder = data[section] if section else data
        value = holder[key]
        if value is not None:
            holder[key] = str((base / value).resolve()) if not Path(value).is_absolute() else value
    if data["pipeline"] is not None:
        # Resolved (symbolic links too): the file checked is the file later imported.
        data["pipeline"] = str(Path(data["pipeline"]).resolve())
        _check_pipeline(data["pipeline"], source, allow_code)
    config = Config(data, path, hashlib.sha256(raw_bytes).hexdigest())
    config.__dict__["model"] = model.model_copy(update={
        "pipeline": data["pipeline"],
        "cohort": model.cohort.model_copy(update={"path": data["cohort"]["path"]}),
        "volume": model.volume.model_copy(update={"atlas": data["volume"]["atlas"]})})
    return config
