"""The one JSON encoder of neurodx outputs: strict JSON, numpy and path values.

Every JSON file neurodx writes (run ``metrics.json`` and ``manifest.json``, bundle
manifests, checkpoints, the scoring journal, simulation records) goes through
:func:`dumps`, which never writes ``NaN`` or ``Infinity`` (not JSON: strict parsers,
``jq`` and browsers refuse them). A non-finite number becomes ``null``, and the
place and value it had are recorded under ``"non_finite"`` in the top-level
object, so a reader can tell "not computed" (e.g. an AUC on a fold holding one
class) from a missing key.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

__all__ = ["json_default", "dumps", "jsonable", "NON_FINITE_KEY"]

#: Top-level key listing the values written as ``null`` because they were not finite.
NON_FINITE_KEY = "non_finite"


def json_default(obj):
    """``default=`` hook for :func:`json.dumps`: numpy scalars/arrays, paths, sets, tuples."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (Path, os.PathLike)):
        return str(obj)
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def jsonable(obj):
    """``obj`` as plain JSON types (numpy values, paths, tuples converted by
    :func:`json_default`; non-finite floats kept), e.g. to store in a manifest or
    compare with what was read back. Raises TypeError for other objects."""
    return json.loads(json.dumps(obj, default=json_default))


def _finite(obj, where: str, found: dict):
    """``obj`` with non-finite floats replaced by None, each recorded in ``found``."""
    if isinstance(obj, float) and not math.isfinite(obj):
        found[where or "."] = "NaN" if math.isnan(obj) else ("Infinity" if obj > 0
                                                             else "-Infinity")
        return None
    if isinstance(obj, dict):
        return {k: _finite(v, f"{where}.{k}" if where else str(k), found) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v, f"{where}[{i}]", found) for i, v in enumerate(obj)]
    return obj


def dumps(obj, *, default=None, record: bool = True, **kwargs) -> str:
    """Strict JSON text of ``obj`` (``allow_nan=False``).

    Parameters
    ----------
    obj : object
        Mappings, sequences, numbers, strings; numpy values, paths, sets and tuples
        are converted by :func:`json_default`.
    default : callable, optional
        Fallback for other objects (e.g. ``str``), tried after :func:`json_default`.
    record : bool
        Record replaced non-finite values under ``"non_finite"`` when ``obj`` is a
        mapping (``{"routes.a.auc": "NaN"}``).
    **kwargs
        Passed to :func:`json.dumps` (``indent``, ``sort_keys``, ``separators``...).
    """
    def hook(value):
        try:
            return json_default(value)
        except TypeError:
            if default is None:
                raise
            return default(value)

    # A first pass through the encoder turns numpy values into plain floats, which
    # the second pass can then inspect.
    plain = json.loads(json.dumps(obj, default=hook))
    found: dict[str, str] = {}
    clean = _finite(plain, "", found)
    if found and record and isinstance(clean, dict):
        clean[NON_FINITE_KEY] = {**(clean.get(NON_FINITE_KEY) or {}), **found}
    return json.dumps(clean, allow_nan=False, **kwargs)
