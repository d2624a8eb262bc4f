"""Writing a volume in Hounsfield units as a DICOM CT series (one file per slice).

Used by the CT simulator and by tests that need real DICOM folders. Files are
byte-identical for identical inputs: UIDs are derived from ``uid_seed`` and
dates are given, never taken from the clock.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

__all__ = ["write_dicom_series"]


def _uid(uid_seed: str, *parts) -> str:
    # Deterministic: the same seed and parts always give the same UID.
    return generate_uid(entropy_srcs=["neurodx", uid_seed, *map(str, parts)])


def _ds(value: float) -> str:
    """A DICOM decimal string: as precise as its 16 characters allow."""
    value = float(value)
    for digits in range(12, 0, -1):
        text = f"{value:.{digits}g}"
        if len(text) <= 16:
            return text
    raise ValueError(f"{value!r} does not fit a DICOM decimal string")


def write_dicom_series(folder: str | Path, hu: np.ndarray, *,
                       pixel_spacing: Sequence[float] = (1.0, 1.0),
                       slice_thickness: float = 5.0,
                       orientation: Sequence[float] = (1, 0, 0, 0, 1, 0),
                       positions: np.ndarray | None = None,
                       uid_seed: str = "0", series_number: int = 1,
                       patient: dict | None = None, study_date: str = "20200101",
                       rescale_intercept: float = -1024.0, rescale_slope: float = 1.0,
                       file_name: str = "slice-{:03d}.dcm",
                       transfer_syntax: str | None = None,
                       description: str = "SYNTHETIC head CT") -> list[Path]:
    """Write ``hu`` (rows, columns, slices) as a CT series, one file per slice.

    Parameters
    ----------
    folder : str | Path
        Created if needed.
    hu : ndarray (rows, columns, n_slices)
        Hounsfield units; ``hu[r, c, k]`` is row ``r``, column ``c`` of slice ``k``
        (as ``pixel_array`` shows it).
    pixel_spacing : (row spacing, column spacing) in mm
    slice_thickness : float
        Slice thickness, and the spacing between slices when ``positions`` is None.
    orientation : 6 floats
        ImageOrientationPatient (row direction cosines, then column ones), LPS.
    positions : ndarray (n_slices, 3), optional
        ImagePositionPatient per slice (LPS mm). By default the slices are
        stacked along the normal, the first one centred on the origin.
    uid_seed : str
        Source of the deterministic Study/Series/SOP/FrameOfReference UIDs.
    patient : dict, optional
        PatientName, PatientID, PatientBirthDate, PatientSex (fake ones in simulations).
    rescale_intercept, rescale_slope : float
        Stored value = (HU - intercept) / slope, as unsigned 16-bit (12 bits used).
    file_name : str
        Format string for the ``k``-th file (1-based).
    transfer_syntax : str, optional
        Compress with this transfer syntax UID (e.g. RLE Lossless) through
        pydicom's encoders; uncompressed Explicit VR Little Endian by default.

    Returns
    -------
    list of Path
        The files, in slice order.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    hu = np.asarray(hu)
    if hu.ndim != 3:
        raise ValueError(f"hu must be (rows, columns, slices), got shape {hu.shape}")
    rows, cols, n = hu.shape
    stored = np.round((hu.astype(np.float64) - rescale_intercept) / rescale_slope)
    if stored.min() < 0 or stored.max() > 4095:
        raise ValueError(f"HU range {hu.min()}..{hu.max()} does not fit 12 bits with intercept "
                         f"{rescale_intercept:g} and slope {rescale_slope:g}")
    stored = stored.astype(np.uint16)
    iop = np.asarray(orientation, dtype=float)
    row_cos, col_cos = iop[:3], iop[3:]
    normal = np.cross(row_cos, col_cos)
    dr, dc = (float(v) for v in pixel_spacing)
    if positions is None:
        corner = -(row_cos * dc * (cols - 1) + col_cos * dr * (rows - 1)) / 2
        positions = corner + np.arange(n)[:, None] * slice_thickness * normal
    positions = np.asarray(positions, dtype=float)
    patient = patient or {}
    study_uid, series_uid = _uid(uid_seed, "study"), _uid(uid_seed, "series", series_number)
    frame_uid = _uid(uid_seed, "frame")

    paths = []
    for k in range(n):
        sop_uid = _uid(uid_seed, "sop", series_number, k)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = sop_uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = pydicom.uid.PYDICOM_IMPLEMENTATION_UID
        ds = Dataset()
        ds.file_meta = meta
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = sop_uid
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = study_date
        ds.StudyTime = ds.SeriesTime = ds.ContentTime = "120000"
        ds.Modality = "CT"
        ds.Manufacturer = "neurodx simulator (SYNTHETIC)"
        ds.StudyDescription = ds.SeriesDescription = description
        ds.ImageComments = "SYNTHETIC image generated by neurodx; not from a person"
        ds.PatientName = patient.get("PatientName", "")
        ds.PatientID = patient.get("PatientID", "")
        ds.PatientBirthDate = patient.get("PatientBirthDate", "")
        ds.PatientSex = patient.get("PatientSex", "")
        ds.BodyPartExamined = "HEAD"
        ds.SliceThickness = _ds(slice_thickness)
        ds.KVP = "120"
        ds.PatientPosition = "HFS"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.StudyID = "1"
        ds.SeriesNumber = series_number
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [_ds(v) for v in positions[k]]
        ds.ImageOrientationPatient = [_ds(v) for v in iop]
        ds.FrameOfReferenceUID = frame_uid
        ds.SliceLocation = _ds(float(positions[k] @ normal))
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = rows, cols
        ds.PixelSpacing = [_ds(dr), _ds(dc)]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
        ds.PixelRepresentation = 0
        ds.WindowCenter, ds.WindowWidth = "40", "80"
        ds.RescaleIntercept = _ds(rescale_intercept)
        ds.RescaleSlope = _ds(rescale_slope)
        ds.RescaleType = "HU"
        ds.PixelData = np.ascontiguousarray(stored[:, :, k]).tobytes()
        if transfer_syntax is not None:
            ds.compress(transfer_syntax, generate_instance_uid=False)
        path = folder / file_name.format(k + 1)
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
