"""NIfTI volumes (``.nii``, ``.nii.gz``) through nibabel, read lazily.

:func:`read_nifti` reads the header only: the voxels stay on disk behind
``img.dataobj`` (a nibabel array proxy), so a 4-D fMRI run of several hundred MB
costs nothing until frames are sliced out of it (``img.dataobj[..., t]``).
"""
from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from ..errors import RecordingError
from .units import UNKNOWN, label_unit

__all__ = ["NIFTI_SUFFIXES", "is_nifti", "read_nifti"]

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def is_nifti(path: str | Path) -> bool:
    """True when the file name ends in ``.nii`` or ``.nii.gz`` (case-insensitive)."""
    return Path(path).name.lower().endswith(NIFTI_SUFFIXES)


def _squeeze_trailing(img, path: Path):
    """Drop singleton dimensions beyond the 4th (some tools write 5-D with size-1 axes)."""
    shape = img.shape
    if len(shape) <= 4:
        return img
    if any(n != 1 for n in shape[4:]):
        raise RecordingError(path, f"{len(shape)}-D image of shape {shape}; neurodx reads 3-D "
                                   "volumes and 4-D time series only")
    # The proxy reshapes lazily: no voxel is read here.
    return img.__class__(img.dataobj.reshape(shape[:4]), img.affine, img.header)


def read_nifti(path: str | Path, *, keep_file_open: bool = False):
    """Open a 2-D, 3-D or 4-D NIfTI file without reading its voxels.

    Parameters
    ----------
    path : str | Path
        A ``.nii`` or ``.nii.gz`` file.
    keep_file_open : bool
        Keep the file handle open between reads; makes repeated frame reads from a
        ``.nii.gz`` much faster (no re-opening, forward seeks only). Used by the
        slice dataset; leave False for one-off reads.

    Returns
    -------
    nibabel.Nifti1Image | nibabel.Nifti2Image
        Spatial axes first, time last. Scaling (``scl_slope``/``scl_inter``) is
        applied by nibabel when voxels are read. A 2-D image is returned as a
        one-slice 3-D volume (read eagerly; it is small). Labelled ``"unknown"``
        unit (:mod:`neurodx.io.units`).

    Raises
    ------
    RecordingError
        Missing, unreadable, truncated (uncompressed files) or >4-D files.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordingError(path, "file not found")
    try:
        img = nib.load(path, keep_file_open=keep_file_open)
    except Exception as err:  # noqa: BLE001 - any reader failure is the file's problem
        raise RecordingError(path, f"not a readable NIfTI file ({type(err).__name__}: {err})"
                             ) from None
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise RecordingError(path, f"read as {type(img).__name__}, not NIfTI")
    # An uncompressed file shorter than its header promises was cut during a copy;
    # say so now rather than failing at the first frame read deep in training.
    if path.name.lower().endswith(".nii"):
        header = img.header
        needed = int(header.get_data_offset()) + int(np.prod(img.shape, dtype=np.int64)) * \
            header.get_data_dtype().itemsize
        size = path.stat().st_size
        if size < needed:
            raise RecordingError(path, f"truncated NIfTI file: {size} bytes, the header "
                                       f"describes {needed} bytes")
    if len(img.shape) < 2:
        raise RecordingError(path, f"{len(img.shape)}-D image of shape {img.shape}; expected a "
                                   "3-D volume or a 4-D time series")
    if len(img.shape) == 2:
        data = np.asanyarray(img.dataobj)[:, :, None]
        img = img.__class__(data, img.affine, img.header)
    # NIfTI does not say whether values are HU: the config's volume.intensity decides.
    return label_unit(_squeeze_trailing(img, path), UNKNOWN)
