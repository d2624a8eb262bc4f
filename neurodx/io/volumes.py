"""One entry point for volumes, whatever the format: NIfTI, DICOM series, 2-D images.

:func:`read_volume` looks at what a path is and hands it to the matching reader;
every reader returns a nibabel NIfTI image that keeps its affine. NIfTI files
stay on disk (lazy proxy); DICOM and image slices are decoded into memory.
:func:`describe_volume` summarises a volume for ``neurodx inspect``.
"""
from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from ..errors import RecordingError
from .dicom import list_dicom_series, read_dicom_series
from .images import is_image_file, read_image_slices
from .nifti import is_nifti, read_nifti
from .units import UNKNOWN, volume_unit

__all__ = ["VOLUME_KINDS", "volume_format", "read_volume", "describe_volume", "scan_values"]

VOLUME_KINDS = ("nifti", "dicom", "images")
_DICOM_SUFFIXES = (".dcm", ".ima", ".dicom")
# Values are scanned in blocks of about this many bytes (float64), bounding memory.
_SCAN_BLOCK_BYTES = 32 * 2 ** 20


def _looks_like_dicom(path: Path) -> bool:
    # Part-10 files carry "DICM" after a 128-byte preamble, whatever their name.
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:] == b"DICM"


def volume_format(path: str | Path) -> str:
    """What kind of volume ``path`` holds: ``"nifti"``, ``"dicom"`` or ``"images"``.

    Files go by extension (``.nii``/``.nii.gz``, ``.png``/``.jpg``/``.jpeg``,
    ``.dcm``/``.ima``) or, without one, by the DICOM ``DICM`` marker. A folder
    holding only PNG/JPEG files is a stack of image slices; any other folder is
    read as a DICOM series.

    Raises
    ------
    RecordingError
        Missing path, empty folder, a folder mixing image slices with other
        files, or an unknown file format.
    """
    path = Path(path)
    if path.is_file():
        if is_nifti(path):
            return "nifti"
        if is_image_file(path):
            return "images"
        if path.name.lower().endswith(_DICOM_SUFFIXES) or _looks_like_dicom(path):
            return "dicom"
        raise RecordingError(path, f"unknown volume format {''.join(path.suffixes) or '(none)'!r} "
                                   "(neurodx reads .nii, .nii.gz, DICOM, .png, .jpg/.jpeg, and "
                                   "folders of DICOM or image slices)")
    if not path.is_dir():
        raise RecordingError(path, "not found")
    files = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
    if not files:
        subdirs = sorted(p.name for p in path.iterdir() if p.is_dir())
        hint = f"; it holds sub-folders {', '.join(subdirs[:5])}: point the path at one " \
               "series/slice folder" if subdirs else ""
        raise RecordingError(path, f"empty folder: no volume files{hint}")
    n_images = sum(is_image_file(p) for p in files)
    if n_images == len(files):
        return "images"
    if n_images:
        other = sorted(p.name for p in files if not is_image_file(p))
        raise RecordingError(path, f"folder mixes {n_images} PNG/JPEG slice(s) with "
                                   f"{len(other)} other file(s) ({', '.join(other[:3])}); "
                                   "one folder must hold one patient's slices of one kind")
    niftis = sorted(p.name for p in files if is_nifti(p))
    if niftis:
        raise RecordingError(path, f"folder holds NIfTI file(s) ({', '.join(niftis[:3])}); "
                                   "list NIfTI files themselves in the cohort's path column")
    return "dicom"


def read_volume(path: str | Path, *, series: str | int | None = None,
                keep_file_open: bool = False) -> nib.Nifti1Image:
    """Read a volume from a NIfTI file, a DICOM series, or PNG/JPEG slices.

    Parameters
    ----------
    path : str | Path
        A ``.nii``/``.nii.gz`` file, a DICOM file or series folder, a PNG/JPEG
        file or a folder of them (see :func:`volume_format`).
    series : str | int, optional
        For DICOM folders holding several series: which one to read (see
        :func:`neurodx.io.dicom.read_dicom_series`).
    keep_file_open : bool
        NIfTI only: keep the file handle open for repeated frame reads.

    Returns
    -------
    nibabel.Nifti1Image
        3-D ``(x, y, z)`` or 4-D ``(x, y, z, t)`` with its affine (voxel to RAS+
        mm). NIfTI voxels stay on disk behind ``img.dataobj``; DICOM CT is in
        Hounsfield units. The intensity unit is in ``img.extra`` (read it with
        :func:`neurodx.io.units.volume_unit`).

    Raises
    ------
    RecordingError
        One line naming the file and the problem.
    """
    kind = volume_format(path)
    if kind == "nifti":
        return read_nifti(path, keep_file_open=keep_file_open)
    if kind == "images":
        return read_image_slices(path)
    return read_dicom_series(path, series=series)


def scan_values(img, *, source: str | Path = "") -> dict:
    """Minimum, maximum and non-finite count of an image's voxels, read block by block.

    Blocks run along the last axis so a 4-D run is never loaded whole.

    Raises
    ------
    RecordingError
        When the voxel data cannot be read (e.g. a truncated ``.nii.gz``).
    """
    shape = img.shape
    per_index = int(np.prod(shape[:-1], dtype=np.int64)) * 8
    step = max(1, _SCAN_BLOCK_BYTES // max(per_index, 1))
    lo, hi, nonfinite = np.inf, -np.inf, 0
    try:
        for start in range(0, shape[-1], step):
            block = np.asarray(img.dataobj[..., start:start + step], dtype=np.float64)
            finite = np.isfinite(block)
            nonfinite += int(block.size - np.count_nonzero(finite))
            if finite.any():
                vals = block[finite] if not finite.all() else block
                lo, hi = min(lo, float(vals.min())), max(hi, float(vals.max()))
    except RecordingError:
        raise
    except Exception as err:  # noqa: BLE001 - unreadable voxel data is the file's problem
        raise RecordingError(source, f"cannot read voxel data ({type(err).__name__}: {err})"
                             ) from None
    return {"min": lo if np.isfinite(lo) else np.nan, "max": hi if np.isfinite(hi) else np.nan,
            "n_nonfinite": nonfinite}


def _canonical_shape(shape, affine) -> tuple[int, ...]:
    ornt = nib.orientations.io_orientation(affine)
    spatial = tuple(int(shape[int(ax)]) for ax in np.argsort(ornt[:, 0]))
    return spatial


def describe_volume(path: str | Path, *, series: str | int | None = None) -> dict:
    """Summary of one volume (for ``neurodx inspect``); reads every voxel once, in blocks.

    Returns
    -------
    dict
        ``format`` (nifti / dicom / images); ``shape`` (spatial, as stored);
        ``canonical_shape`` (spatial, after reorientation to RAS, the layout
        slicing uses); ``n_frames`` (1 for 3-D); ``zooms`` (voxel size in mm);
        ``tr`` (s, 4-D NIfTI; None otherwise); ``orientation`` (axis codes,
        e.g. ``"LPS"``); ``dtype`` (stored); ``modality`` (DICOM Modality, e.g. ``"CT"``; None otherwise);
        ``units`` (the reader's label, :mod:`neurodx.io.units`: ``"HU"`` for DICOM CT,
        ``"display"`` for images, None when unknown, e.g. NIfTI); ``min``, ``max``,
        ``n_nonfinite``.

    Raises
    ------
    RecordingError
        If the volume cannot be read.
    """
    kind = volume_format(path)
    img = read_volume(path, series=series)
    shape = tuple(int(n) for n in img.shape)
    spatial = shape[:3]
    zooms = tuple(round(float(z), 6) for z in img.header.get_zooms()[:3])
    tr = None
    if len(shape) == 4:
        unit_scale = {"msec": 1e-3, "usec": 1e-6}.get(img.header.get_xyzt_units()[1], 1.0)
        tr = round(float(img.header.get_zooms()[3]) * unit_scale, 6)
    modality = None
    if kind == "dicom":
        groups = list_dicom_series(path)
        chosen = [g for g in groups if series in (None, "largest") or
                  str(series) in (g.uid, str(g.number))]
        modality = max(chosen, key=lambda g: len(g.files)).modality if chosen else None
    units = volume_unit(img)
    units = None if units == UNKNOWN else units
    info = {"format": kind, "shape": spatial, "canonical_shape": _canonical_shape(spatial,
                                                                                   img.affine),
            "n_frames": shape[3] if len(shape) == 4 else 1, "zooms": zooms, "tr": tr,
            "orientation": "".join(nib.aff2axcodes(img.affine)),
            "dtype": str(img.get_data_dtype()), "modality": modality, "units": units}
    info.update(scan_values(img, source=path))
    return info
