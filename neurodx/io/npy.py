"""Reading ``.npy`` arrays safely: the header is checked before any data are loaded.

``numpy.load`` trusts the header: a file declaring shape (1e9, 1e5) asks for
hundreds of terabytes and dies with MemoryError; a complex array would lose its
imaginary part when cast to float; an object array needs pickle, which must never
run on a user's file. Here the header is read first (:mod:`numpy.lib.format`)
and refused with one line when its shape does not fit the file's size or its
dtype is not plain real numbers.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from ..errors import RecordingError

__all__ = ["read_npy_header", "read_npy"]


def read_npy_header(path: str | Path) -> tuple[tuple[int, ...], np.dtype, bool, int]:
    """Shape, dtype, Fortran order and data offset of a ``.npy`` file, checked.

    Raises
    ------
    RecordingError
        Not a ``.npy`` file, an unsupported version, a dtype other than bool,
        integer or real floating point, or a shape whose data the file cannot hold.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            version = npy_format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = npy_format.read_array_header_1_0(fh)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = npy_format.read_array_header_2_0(fh)
            else:
                raise RecordingError(path, f"unsupported .npy format version {version}")
            offset = fh.tell()
    except RecordingError:
        raise
    except (ValueError, OSError, SyntaxError, TypeError) as err:
        raise RecordingError(path, f"not a readable .npy file ({' '.join(str(err).split())[:200]})"
                             ) from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise RecordingError(path, f"a .npy array of {dtype} (objects or records); expected "
                                   "plain numbers")
    if dtype.kind == "c":
        raise RecordingError(path, f"a complex .npy array ({dtype}); expected real numbers (save "
                                   "the real part or the magnitude)")
    if dtype.kind not in "biuf":
        raise RecordingError(path, f"a .npy array of {dtype}; expected real numbers")
    needed = math.prod(shape) * dtype.itemsize      # exact integers: no overflow
    held = os.path.getsize(path) - offset
    if needed > held:
        raise RecordingError(path, f"the .npy header declares shape {tuple(shape)} of {dtype} "
                                   f"({needed:,} bytes) but the file holds {held:,} bytes "
                                   "(truncated or corrupt)")
    return tuple(shape), dtype, fortran, offset


def read_npy(path: str | Path) -> np.ndarray:
    """Load a ``.npy`` array after :func:`read_npy_header` accepted it (never unpickles)."""
    read_npy_header(path)
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise RecordingError(path, f"unreadable .npy file ({' '.join(str(err).split())[:200]})"
                             ) from None
