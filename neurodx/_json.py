"""JSON encoding of the numpy and path values found in manifests and checkpoints."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["json_default"]


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
