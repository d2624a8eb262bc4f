"""Run configurations: YAML files validated against defaults on load.

An unknown key, a value of the wrong type or out of range (``_RANGES``: e.g.
``cv.n_repeats`` at least 1, ``preprocessing.notch`` above 0) is reported with its
path in the file (``cv.n_split: unknown key (did you mean 'n_splits'?)``), before
any work is done. Relative paths in
``cohort.path`` and ``pipeline`` are resolved against the config file's folder.

``pipeline`` names a Python file that ``neurodx compare`` and ``neurodx train``
import, i.e. code that runs with the user's permissions. A config is data that
may come from anyone, so a pipeline file outside the study modules shipped in
this repository's ``pipelines/`` folder (:data:`SHIPPED_PIPELINES`, symbolic links
resolved) is refused unless the caller opts in (``allow_code=True``,
``--allow-code`` on the command line).
"""
from __future__ import annotations

import copy
import difflib
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .io.quality import BAD_CHANNEL_POLICIES, FLAT_POLICIES
from .preprocessing.bands import DEFAULT_BANDS

__all__ = ["DEFAULTS", "Config", "load_config", "parse_assignments", "FREE_FORM",
           "SHIPPED_PIPELINES"]

#: The study modules shipped with neurodx; a config may name these without opting in.
SHIPPED_PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"


class _FreeForm(dict):
    """Marks a mapping whose keys are the user's own (route names, band names)."""


FREE_FORM = _FreeForm

DEFAULTS: dict[str, Any] = {
    "study": "",
    "description": "",
    "pipeline": None,           # study module (Python); outside pipelines/ needs allow_code
    "cohort": {
        "path": None,
        "modality": None,       # eeg | regions | volume (inferred when null)
        "groups": None,         # allowed labels (null: every label found)
        "group_column": "group",
        "site_column": "site",
        "skip_bad": False,      # run on usable subjects, listing the others, instead of refusing
        "allow_outside": False,  # let participants.tsv paths lead outside the cohort folder
    },
    "eeg": {
        "n_channels": None,
        "channel_names": None,
        "exclude": [],
        "sfreq": None,
        "sfreq_policy": "resample",
        "min_duration": 0.0,
        "flat_std": 1e-7,
        "flat_ratio": 1e-2,
        "saturation_fraction": 0.01,
        "flat_policy": "refuse",   # refuse | drop (from every subject) | skip_subject
        "bad_channels": "exclude",  # status=bad: exclude (all subjects) | interpolate | ignore
        "text_orientation": "samples",  # text EEG without sidecar: rows are samples|channels
        "text_unit": "uV",              # text EEG without _channels.tsv: uV | mV | V | nV
    },
    "regions": {"n_regions": None, "min_timepoints": 20,
                "flat_policy": "refuse"},   # refuse | drop (from every subject) | skip_subject
    "volume": {"require_4d": False, "min_frames": 2, "expected_shape": None,
               "shape_policy": "refuse", "series": None,
               "intensity": "auto",     # auto | hu | display (neurodx.io.units)
               # region series from 4-D runs (RMT routes on fMRI volumes): a labels
               # atlas, or a parcellation fitted on each fold's training subjects
               "atlas": None, "parcellation": "ward", "n_parcels": 10,
               "low_pass": None, "high_pass": None},
    "preprocessing": {"reference": "average", "notch": None, "l_freq": None, "h_freq": None,
                      "sfreq": None},
    "windows": {"length": 2.0, "overlap": 0.5,
                "bands": _FreeForm({k: list(v) for k, v in DEFAULT_BANDS.items()})},
    "routes": _FreeForm(),
    "cv": {"scheme": "stratified_kfold", "n_splits": 5, "n_repeats": 1, "test_size": 0.25},
    # bootstrap: subject resamples for the CIs (>= 1); permutations: 0 turns the test off.
    "statistics": {"bootstrap": 1000, "permutations": 100, "level": 0.95,
                   "permutation_route": "best"},   # or a route name
    "seed": 0,
}


# Values a config may not take, refused at load with their path (before any compute).
# (key path, lower bound, upper bound, bounds inclusive?, what is expected); None: no bound.
_RANGES = (
    ("cv.n_splits", 2, None, True, "an integer >= 2 (folds per repeat)"),
    ("cv.n_repeats", 1, None, True, "an integer >= 1 (repeats, or holdout splits)"),
    ("cv.test_size", 0, 1, False, "a fraction between 0 and 1 (exclusive)"),
    ("statistics.bootstrap", 1, None, True, "an integer >= 1 (subject-bootstrap resamples "
                                            "for the CIs)"),
    ("statistics.permutations", 0, None, True, "an integer >= 0 (0: no permutation test)"),
    ("statistics.level", 0, 1, False, "a level between 0 and 1 (exclusive), e.g. 0.95"),
    ("preprocessing.notch", 0, None, False, "a frequency > 0 in Hz (50 or 60), or null"),
    ("preprocessing.l_freq", 0, None, False, "a frequency > 0 in Hz, or null"),
    ("preprocessing.h_freq", 0, None, False, "a frequency > 0 in Hz, or null"),
    ("preprocessing.sfreq", 0, None, False, "a rate > 0 in Hz, or null"),
    ("eeg.sfreq", 0, None, False, "a rate > 0 in Hz, or null"),
    ("eeg.n_channels", 2, None, True, "an integer >= 2, or null"),
    ("eeg.min_duration", 0, None, True, "seconds >= 0"),
    ("regions.n_regions", 2, None, True, "an integer >= 2, or null"),
    ("regions.min_timepoints", 1, None, True, "an integer >= 1"),
    ("volume.min_frames", 1, None, True, "an integer >= 1"),
    ("windows.length", 0, None, False, "seconds > 0"),
    ("windows.overlap", 0, 1, None, "a fraction >= 0 and < 1"),
    ("seed", 0, None, True, "an integer >= 0"),
)


def _in_range(value, lo, hi, inclusive) -> bool:
    """``inclusive`` True: [lo, hi]; False: (lo, hi); None: [lo, hi). NaN is never in range."""
    if not math.isfinite(value):
        return False
    low_ok = value >= lo if inclusive in (True, None) else value > lo
    high_ok = hi is None or (value <= hi if inclusive else value < hi)
    return (lo is None or low_ok) and high_ok


def _check_ranges(data: dict, source: str) -> None:
    for key, lo, hi, inclusive, expected in _RANGES:
        holder = data
        for part in key.split("."):
            holder = holder[part]
        if holder is None:
            continue
        if isinstance(holder, bool) or not isinstance(holder, (int, float)) or \
                not _in_range(holder, lo, hi, inclusive):
            raise ConfigError(f"{source}: {key}: expected {expected}, got {holder!r}")
    pre = data["preprocessing"]
    if pre["l_freq"] is not None and pre["h_freq"] is not None and pre["l_freq"] >= pre["h_freq"]:
        raise ConfigError(f"{source}: preprocessing: l_freq ({pre['l_freq']:g}) must be below "
                          f"h_freq ({pre['h_freq']:g})")
    for name, edges in data["windows"]["bands"].items():
        ok = isinstance(edges, (list, tuple)) and len(edges) == 2 and all(
            isinstance(e, (int, float)) and not isinstance(e, bool) and math.isfinite(e)
            for e in edges)
        if not ok or not 0 < edges[0] < edges[1]:
            raise ConfigError(f"{source}: windows.bands.{name}: expected [low, high] in Hz "
                              f"with 0 < low < high, got {edges!r}")


@dataclass(frozen=True)
class Config:
    """A validated configuration.

    Attributes
    ----------
    data : dict
        Defaults merged with the file.
    path : Path or None
        The file it came from.
    sha256 : str
        Hash of the file's bytes (recorded in run manifests).
    """

    data: dict
    path: Path | None
    sha256: str

    def __getitem__(self, key):
        return self.data[key]

    def get(self, key, default=None):
        return self.data.get(key, default)


def _type_name(value) -> str:
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _merge(defaults, given, where: str, source: str):
    if isinstance(defaults, _FreeForm):
        if given is None:
            return copy.deepcopy(dict(defaults))
        if not isinstance(given, dict):
            raise ConfigError(f"{source}: {where}: expected a mapping, got {given!r}")
        return copy.deepcopy(given)
    if isinstance(defaults, dict):
        if given is None:
            given = {}
        if not isinstance(given, dict):
            raise ConfigError(f"{source}: {where or 'top level'}: expected a mapping, got {given!r}")
        out = {}
        for key in given:
            if key not in defaults:
                close = difflib.get_close_matches(str(key), list(defaults), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else \
                    f" (known keys: {', '.join(defaults)})"
                raise ConfigError(f"{source}: {where + '.' if where else ''}{key}: unknown key{hint}")
        for key, default in defaults.items():
            sub = f"{where}.{key}" if where else key
            out[key] = _merge(default, given.get(key), sub, source) if key in given or \
                isinstance(default, dict) else copy.deepcopy(default)
        return out
    if given is None or defaults is None:
        return given
    expected = type(defaults)
    ok = isinstance(given, expected) and not (expected is not bool and isinstance(given, bool))
    if expected is float and isinstance(given, int) and not isinstance(given, bool):
        ok, given = True, float(given)
    if not ok:
        raise ConfigError(f"{source}: {where}: expected {_type_name(defaults)}, got {given!r}")
    return given


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
            parsed = yaml.safe_load(value)
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


def _check_pipeline(value: str, source: str, allow_code: bool) -> None:
    """Refuse a pipeline file outside :data:`SHIPPED_PIPELINES` unless code is allowed."""
    if allow_code or Path(value).is_relative_to(SHIPPED_PIPELINES):
        return
    raise ConfigError(f"{source}: pipeline: {value} is outside neurodx's pipelines/ folder; "
                      "a pipeline file is Python code that runs with your permissions, so "
                      "pass --allow-code if you trust it")


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
        Accept a ``pipeline`` file outside :data:`SHIPPED_PIPELINES` (it is
        imported, i.e. run, by ``compare`` and ``train``). Off by default.

    Raises
    ------
    ConfigError
        An unknown key, a value of the wrong type, invalid YAML, or a pipeline
        file outside ``pipelines/`` without ``allow_code``.
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
        given = yaml.safe_load(raw_bytes)
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML ({str(err).splitlines()[0]})") from None
    if given is None:               # an empty file: every default
        given = {}
    if not isinstance(given, dict):
        raise ConfigError(f"{source}: expected a mapping of settings (study:, cohort:, "
                          f"routes: ...) at the top level, got {_type_name(given)}")
    given = _deep_update(given, overrides or {})
    data = _merge(DEFAULTS, given, "", source)
    _check_ranges(data, source)
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
    if data["cohort"]["modality"] not in (None, "eeg", "regions", "volume"):
        raise ConfigError(f"{source}: cohort.modality: expected eeg, regions or volume, got "
                          f"{data['cohort']['modality']!r}")
    for section in ("eeg", "regions"):
        if data[section]["flat_policy"] not in FLAT_POLICIES:
            raise ConfigError(f"{source}: {section}.flat_policy: expected one of "
                              f"{', '.join(FLAT_POLICIES)}, got {data[section]['flat_policy']!r}")
    if data["eeg"]["bad_channels"] not in BAD_CHANNEL_POLICIES:
        raise ConfigError(f"{source}: eeg.bad_channels: expected one of "
                          f"{', '.join(BAD_CHANNEL_POLICIES)}, got {data['eeg']['bad_channels']!r}")
    for name, route in data["routes"].items():
        if not isinstance(route, dict) or "kind" not in route:
            raise ConfigError(f"{source}: routes.{name}: expected a mapping with a 'kind'")
    return Config(data, path, hashlib.sha256(raw_bytes).hexdigest())
