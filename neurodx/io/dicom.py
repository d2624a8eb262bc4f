"""DICOM series (one file per slice) read through pydicom into a NIfTI image.

What :func:`read_dicom_series` does, in order:

1. reads the headers of every visible file in the folder (not sub-folders);
   a file pydicom cannot read is an error naming it; DICOM files without an
   image (DICOMDIR, structured reports) are skipped and reported;
2. groups images by ``SeriesInstanceUID``. Several series in one folder are
   refused with a message listing them, unless ``series`` picks one (a UID, a
   SeriesNumber, or ``"largest"``: the series with most images);
3. sorts slices by ``ImagePositionPatient`` projected on the slice normal
   (the cross product of the two ``ImageOrientationPatient`` vectors); when
   positions or orientation are missing, by ``InstanceNumber``;
4. refuses missing slices (a step larger than 1.5x the median step, or a jump
   in instance numbers), irregular spacing and duplicated positions;
5. decodes pixels (compressed transfer syntaxes need an installed decoder,
   otherwise a clear refusal), applies ``RescaleSlope``/``RescaleIntercept``
   per slice so CT arrives in Hounsfield units, and labels the image ``"HU"``
   (Modality CT, RescaleType HU, or no Modality but a RescaleIntercept; other
   modalities stay ``"unknown"``, see :mod:`neurodx.io.units`);
6. builds the voxel-to-world affine from orientation, ``PixelSpacing`` and the
   positions, converting DICOM's LPS patient coordinates to NIfTI's RAS.

Array layout follows the NIfTI convention used by dcm2niix: ``data[i, j, k]``
is column ``i``, row ``j`` of slice ``k`` (i.e. each slice is the transposed
``pixel_array``).

Only header fields needed for geometry and intensity are read into messages or
logs; patient identity fields are never.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from pydicom.pixels import get_decoder

from .._logging import logger
from ..errors import RecordingError
from .units import HU, UNKNOWN, label_unit

__all__ = ["DicomSeries", "list_dicom_series", "read_dicom_series", "dicom_problems"]

# Pixels closer than this (mm) along the normal are "the same position".
_SAME_POSITION_MM = 1e-3
# A step this many times the median step means slices are missing.
_GAP_FACTOR = 1.5
# Steps further than this fraction from the median (but not a gap) are irregular.
_IRREGULAR_FRACTION = 0.1
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class DicomSeries:
    """One image series found in a folder.

    Attributes
    ----------
    uid : str
        SeriesInstanceUID (``"(none)"`` when absent).
    number : int or None
        SeriesNumber.
    modality : str or None
        Modality (``"CT"``, ``"MR"`` ...).
    files : tuple of Path
        Its image files, sorted by name.
    """

    uid: str
    number: int | None
    modality: str | None
    files: tuple[Path, ...]

    def __str__(self) -> str:
        number = "?" if self.number is None else self.number
        return (f"series {number} ({self.modality or '?'}, {len(self.files)} images, "
                f"SeriesInstanceUID {self.uid})")


@dataclass(frozen=True)
class _Header:
    """The header fields neurodx needs from one DICOM image file."""

    path: Path
    series_uid: str
    series_number: int | None
    modality: str | None
    instance: int | None
    position: np.ndarray | None       # ImagePositionPatient (LPS, mm)
    orientation: np.ndarray | None    # ImageOrientationPatient: row cosines, column cosines
    spacing: np.ndarray | None        # PixelSpacing: (between rows, between columns) in mm
    rows: int
    columns: int
    n_frames: int
    samples: int
    transfer_syntax: str | None
    thickness: float | None
    spacing_between: float | None


def _floats(ds, keyword, n):
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    try:
        arr = np.asarray([float(v) for v in (value if n > 1 else [value])], dtype=float)
    except (TypeError, ValueError):
        return None
    return arr if arr.size == n and np.all(np.isfinite(arr)) else None


def _int(ds, keyword):
    value = ds.get(keyword)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _read_header(path: Path) -> _Header | str | None:
    """The header of ``path``; a problem message if unreadable; None if not an image."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except pydicom.errors.InvalidDicomError:
        return "not a DICOM file (no DICM preamble/prefix)"
    except Exception as err:  # noqa: BLE001 - any reader failure is the file's problem
        return f"unreadable DICOM file ({type(err).__name__}: {err})"
    if "Rows" not in ds or "Columns" not in ds:
        return None  # DICOMDIR, structured report, presentation state...
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    orientation = _floats(ds, "ImageOrientationPatient", 6)
    spacing = _floats(ds, "PixelSpacing", 2)
    if spacing is None:
        spacing = _floats(ds, "ImagerPixelSpacing", 2)
    thickness = _floats(ds, "SliceThickness", 1)
    between = _floats(ds, "SpacingBetweenSlices", 1)
    return _Header(path=path, series_uid=str(ds.get("SeriesInstanceUID", "(none)")),
                   series_number=_int(ds, "SeriesNumber"), modality=ds.get("Modality"),
                   instance=_int(ds, "InstanceNumber"),
                   position=_floats(ds, "ImagePositionPatient", 3), orientation=orientation,
                   spacing=spacing, rows=int(ds.Rows), columns=int(ds.Columns),
                   n_frames=_int(ds, "NumberOfFrames") or 1,
                   samples=_int(ds, "SamplesPerPixel") or 1,
                   transfer_syntax=None if ts is None else str(ts),
                   thickness=None if thickness is None else float(thickness[0]),
                   spacing_between=None if between is None else float(between[0]))


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise RecordingError(path, "not found")
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        subdirs = sorted(p.name for p in path.iterdir() if p.is_dir())
        hint = f" (it holds sub-folders {', '.join(subdirs[:5])}: point the path at one " \
               "series folder)" if subdirs else ""
        raise RecordingError(path, f"empty folder: no DICOM files{hint}")
    return files


def _scan(path: Path) -> tuple[list[_Header], list[str], list[str]]:
    """Headers of the image files; errors and notes, each naming its file."""
    headers, errors, notes = [], [], []
    for f in _files(path):
        h = _read_header(f)
        if isinstance(h, str):
            errors.append(f"{f.name}: {h}")
        elif h is None:
            notes.append(f"{f.name}: DICOM file without an image, ignored")
        else:
            headers.append(h)
    if not headers and not errors:
        errors.append("no DICOM image in the folder")
    return headers, errors, notes


def _group(headers: list[_Header]) -> list[DicomSeries]:
    by_uid: dict[str, list[_Header]] = defaultdict(list)
    for h in headers:
        by_uid[h.series_uid].append(h)
    series = [DicomSeries(uid, hs[0].series_number, hs[0].modality,
                          tuple(sorted(h.path for h in hs))) for uid, hs in by_uid.items()]
    return sorted(series, key=lambda s: (s.number is None, s.number or 0, s.uid))


def list_dicom_series(path: str | Path) -> list[DicomSeries]:
    """The image series in a DICOM folder (headers only).

    Raises
    ------
    RecordingError
        Empty folder, or a file that is not readable DICOM.
    """
    path = Path(path)
    headers, errors, _ = _scan(path)
    if errors:
        raise RecordingError(path, errors[0])
    return _group(headers)


def _select(path: Path, headers: list[_Header], series: str | int | None) -> list[_Header]:
    groups = _group(headers)
    if series is None:
        if len(groups) > 1:
            raise RecordingError(path, f"{len(groups)} series mixed in one folder: "
                                 + "; ".join(map(str, groups))
                                 + ". Keep one series per folder, or choose one with "
                                   "series=<SeriesInstanceUID | SeriesNumber | 'largest'>")
        chosen = groups[0]
    elif series == "largest":
        sizes = sorted((len(g.files) for g in groups), reverse=True)
        if len(sizes) > 1 and sizes[0] == sizes[1]:
            raise RecordingError(path, "series='largest' is ambiguous: several series have "
                                       f"{sizes[0]} images: " + "; ".join(map(str, groups)))
        chosen = max(groups, key=lambda g: len(g.files))
    else:
        matches = [g for g in groups if g.uid == str(series) or str(g.number) == str(series)]
        if len(matches) != 1:
            raise RecordingError(path, f"series {series!r} {'is ambiguous' if matches else 'not found'}"
                                       "; the folder holds " + "; ".join(map(str, groups)))
        chosen = matches[0]
    keep = set(chosen.files)
    return [h for h in headers if h.path in keep]


@dataclass(frozen=True)
class _Geometry:
    ordered: list[_Header]
    affine: np.ndarray
    warnings: list[str]


def _check_uniform(headers: list[_Header]) -> list[str]:
    errors = []
    first = headers[0]
    for h in headers:
        if h.n_frames > 1:
            errors.append(f"{h.path.name}: multi-frame image ({h.n_frames} frames); enhanced "
                          "multi-frame DICOM is not supported (convert it with dcm2niix)")
        if h.samples != 1:
            errors.append(f"{h.path.name}: colour image (SamplesPerPixel={h.samples}); "
                          "only grayscale series are supported")
        if (h.rows, h.columns) != (first.rows, first.columns):
            errors.append(f"{h.path.name}: {h.rows}x{h.columns} pixels, other slices are "
                          f"{first.rows}x{first.columns} (as in {first.path.name})")
        for field, a, b, tol in (("ImageOrientationPatient", h.orientation, first.orientation,
                                  1e-4), ("PixelSpacing", h.spacing, first.spacing, 1e-4)):
            if (a is None) != (b is None) or (a is not None and not np.allclose(a, b, atol=tol)):
                errors.append(f"{h.path.name}: {field} differs from {first.path.name}")
    return errors


def _step_problems(values: np.ndarray, ordered: list[_Header], unit: str) -> list[str]:
    """Duplicates, gaps and irregular steps in sorted slice positions (or instance numbers)."""
    steps = np.diff(values)
    errors = []
    for k in np.flatnonzero(steps < _SAME_POSITION_MM):
        errors.append(f"{ordered[k].path.name} and {ordered[k + 1].path.name} are at the same "
                      f"{unit} {values[k]:g} (duplicated slice or several acquisitions mixed)")
    if errors or len(steps) < 2:
        return errors
    nominal = float(np.median(steps))
    for k in np.flatnonzero(steps > _GAP_FACTOR * nominal):
        n_missing = int(round(steps[k] / nominal)) - 1
        errors.append(f"missing slice(s): {unit} jumps from {values[k]:g} to {values[k + 1]:g} "
                      f"between {ordered[k].path.name} and {ordered[k + 1].path.name} (step "
                      f"{steps[k]:g}, usual {nominal:g}; about {max(n_missing, 1)} slice(s) "
                      "missing)")
    irregular = (np.abs(steps - nominal) > _IRREGULAR_FRACTION * nominal) & \
        (steps <= _GAP_FACTOR * nominal)
    for k in np.flatnonzero(irregular):
        errors.append(f"irregular slice spacing: {unit} step {steps[k]:g} between "
                      f"{ordered[k].path.name} and {ordered[k + 1].path.name}, usual {nominal:g}")
    return errors


def _geometry(headers: list[_Header]) -> tuple[_Geometry | None, list[str]]:
    errors = _check_uniform(headers)
    if errors:
        return None, errors
    warnings = []
    first = headers[0]
    orientation = first.orientation
    if orientation is None:
        warnings.append("no ImageOrientationPatient: axial orientation assumed")
        orientation = np.array([1.0, 0, 0, 0, 1, 0])
    row_cos, col_cos = orientation[:3], orientation[3:]
    normal = np.cross(row_cos, col_cos)
    spacing = first.spacing
    if spacing is None:
        warnings.append("no PixelSpacing: 1 mm pixels assumed")
        spacing = np.array([1.0, 1.0])
    nominal_step = first.spacing_between or first.thickness or 1.0

    if first.orientation is not None and all(h.position is not None for h in headers):
        dist = np.array([h.position @ normal for h in headers])
        # Instance number breaks ties so duplicates are reported in a stable order.
        order = sorted(range(len(headers)), key=lambda k: (dist[k], headers[k].instance or 0))
        ordered = [headers[k] for k in order]
        errors = _step_problems(dist[order], ordered, "position (mm along the slice normal)")
        if len(ordered) > 1:
            # First-to-last vector: keeps a gantry tilt as a shear instead of ignoring it.
            step = (ordered[-1].position - ordered[0].position) / (len(ordered) - 1)
        else:
            step = normal * nominal_step
        origin = ordered[0].position
    elif all(h.instance is not None for h in headers):
        warnings.append("slices ordered by InstanceNumber (ImagePositionPatient missing); "
                        f"slice spacing {nominal_step:g} mm taken from the header")
        ordered = sorted(headers, key=lambda h: h.instance)
        errors = _step_problems(np.array([h.instance for h in ordered], float), ordered,
                                "InstanceNumber")
        step = normal * nominal_step
        origin = ordered[0].position if ordered[0].position is not None else np.zeros(3)
    else:
        missing = next(h for h in headers if h.instance is None)
        return None, [f"{missing.path.name}: cannot order slices: neither "
                      "ImagePositionPatient nor InstanceNumber is present"]
    if errors:
        return None, errors
    lps = np.eye(4)
    lps[:3, 0] = row_cos * spacing[1]   # i: along a row, i.e. across columns
    lps[:3, 1] = col_cos * spacing[0]   # j: down a column, i.e. across rows
    lps[:3, 2] = step
    lps[:3, 3] = origin
    return _Geometry(ordered, _LPS_TO_RAS @ lps, warnings), []


def _decoder_problem(h: _Header) -> str | None:
    if h.transfer_syntax is None:
        return None
    try:
        decoder = get_decoder(h.transfer_syntax)
    except NotImplementedError:
        return f"{h.path.name}: unsupported transfer syntax {h.transfer_syntax}"
    if not decoder.is_available:
        name = pydicom.uid.UID(h.transfer_syntax).name
        return (f"{h.path.name}: pixel data compressed as {name!r} and no installed decoder "
                "reads it (install pylibjpeg with pylibjpeg-libjpeg/-openjpeg, or "
                "python-gdcm)")
    return None


def dicom_problems(path: str | Path, series: str | int | None = None
                   ) -> tuple[list[str], list[str]]:
    """Errors and warnings for a DICOM folder, from headers only (no pixel decoding).

    Each message names the file it is about. Used by inspection; reading a
    series raises on the first error instead.
    """
    path = Path(path)
    try:
        headers, errors, notes = _scan(path)
    except RecordingError as err:
        return [err.message], []
    if errors:
        return errors, notes
    try:
        headers = _select(path, headers, series)
    except RecordingError as err:
        return [err.message], notes
    geometry, errors = _geometry(headers)
    errors += [m for m in (_decoder_problem(h) for h in headers) if m]
    return errors, notes + (geometry.warnings if geometry else [])


def _pixels(h: _Header) -> tuple[np.ndarray, float, float, bool]:
    try:
        ds = pydicom.dcmread(h.path)
        arr = ds.pixel_array
    except Exception as err:  # noqa: BLE001 - decoding failures are the file's problem
        raise RecordingError(h.path, f"cannot decode pixel data ({type(err).__name__}: {err})"
                             ) from None
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    return arr, slope, intercept, _in_hu(ds)


def _in_hu(ds) -> bool:
    """Whether rescaled values are Hounsfield units (see the module docstring)."""
    dicom_kind = str(ds.get("Modality", "") or "").upper()    # the DICOM Modality tag
    if dicom_kind == "CT" or str(ds.get("RescaleType", "") or "").upper() == "HU":
        return True
    # Old CT exports sometimes drop Modality but keep the rescale to HU.
    return not dicom_kind and ds.get("RescaleIntercept") not in (None, "")


def read_dicom_series(path: str | Path, *, series: str | int | None = None) -> nib.Nifti1Image:
    """Read one DICOM series (a folder, or a single file) as a NIfTI image in RAS+ world mm.

    Parameters
    ----------
    path : str | Path
        Folder holding the series' files (any names; hidden files are ignored),
        or one DICOM file (a one-slice volume).
    series : str | int, optional
        Which series to read when the folder holds several: a
        SeriesInstanceUID, a SeriesNumber, or ``"largest"`` (most images; a tie
        is an error). By default several series are an error listing them.

    Returns
    -------
    nibabel.Nifti1Image
        Shape ``(columns, rows, n_slices)``, values after RescaleSlope/Intercept
        (Hounsfield units for CT): int16 when slopes and intercepts are integers
        and values fit, float32 otherwise. qform/sform codes are 1 (scanner).
        Labelled ``"HU"`` or ``"unknown"`` (:func:`neurodx.io.units.volume_unit`).

    Raises
    ------
    RecordingError
        Naming the folder and the first problem: empty folder, unreadable file,
        mixed series, missing/duplicated slices, inconsistent geometry,
        compressed pixels without decoder.
    """
    path = Path(path)
    headers, errors, notes = _scan(path)
    if errors:
        raise RecordingError(path, errors[0] + (f" (and {len(errors) - 1} more problem(s))"
                                                if len(errors) > 1 else ""))
    for note in notes:
        logger.warning("%s: %s", path, note)
    headers = _select(path, headers, series)
    geometry, errors = _geometry(headers)
    if errors:
        raise RecordingError(path, errors[0] + (f" (and {len(errors) - 1} more problem(s))"
                                                if len(errors) > 1 else ""))
    for warning in geometry.warnings:
        logger.warning("%s: %s", path, warning)
    for h in geometry.ordered:
        problem = _decoder_problem(h)
        if problem:
            raise RecordingError(path, problem)

    first = geometry.ordered[0]
    shape = (first.columns, first.rows, len(geometry.ordered))
    # float32 holds every 16-bit stored value times an integer slope exactly.
    values = np.empty(shape, dtype=np.float32)
    integral, in_hu = True, True
    for k, h in enumerate(geometry.ordered):
        arr, slope, intercept, hu = _pixels(h)
        in_hu &= hu
        if arr.shape != (first.rows, first.columns):
            raise RecordingError(path, f"{h.path.name}: decoded pixel array has shape "
                                       f"{arr.shape}, header says {first.rows}x{first.columns}")
        integral &= slope.is_integer() and intercept.is_integer()
        values[:, :, k] = arr.T * slope + intercept
    info = np.iinfo(np.int16)
    if integral and values.min() >= info.min and values.max() <= info.max:
        data = values.astype(np.int16)
    else:
        data = values.astype(np.float32)
    img = nib.Nifti1Image(data, geometry.affine)
    img.header.set_xyzt_units("mm")
    img.set_qform(geometry.affine, code=1)
    img.set_sform(geometry.affine, code=1)
    img.header["descrip"] = f"neurodx from DICOM {first.modality or ''}".strip()[:79].encode()
    return label_unit(img, HU if in_hu else UNKNOWN)
