"""Recognised file formats and the modality each one carries."""
from __future__ import annotations

from pathlib import Path

from ..errors import CohortError

__all__ = ["EEG_FORMATS", "REGION_FORMATS", "VOLUME_FORMATS", "MODALITY_OF_FORMAT",
           "file_format", "is_bids_sidecar"]

# Delimited-text EEG carries the BIDS "_eeg" suffix, which tells it from region time
# series sharing the .csv/.tsv extensions (see neurodx.io.text_eeg).
EEG_FORMATS = (".edf", ".bdf", ".vhdr", ".set", ".fif", ".fif.gz",
               "_eeg.csv", "_eeg.tsv", "_eeg.txt")
REGION_FORMATS = (".tsv", ".csv", ".npy", ".1d")
# "folder" is a DICOM series or a folder of 2-D image slices; "dicom" a DICOM file
# without a DICOM extension (recognised by its "DICM" marker, as scanners often write).
VOLUME_FORMATS = (".nii", ".nii.gz", ".dcm", ".ima", ".dicom", ".png", ".jpg", ".jpeg",
                  "folder", "dicom")

MODALITY_OF_FORMAT = {**{f: "eeg" for f in EEG_FORMATS},
                      **{f: "regions" for f in REGION_FORMATS},
                      **{f: "volume" for f in VOLUME_FORMATS}}

# Files that accompany a recording in BIDS (or a multi-file format) but are not one.
_SIDECAR_SUFFIXES = ("_channels.tsv", "_events.tsv", "_electrodes.tsv", "_scans.tsv",
                     "_coordsystem.json", "_physio.tsv.gz", "_physio.tsv")
_SIDECAR_EXTENSIONS = (".json", ".vmrk", ".eeg", ".fdt", ".bval", ".bvec")


_DICOM_EXTENSIONS = (".dcm", ".ima", ".dicom")


def _is_dicom_file(path: Path) -> bool:
    # Part-10 files carry "DICM" after a 128-byte preamble, whatever their name.
    try:
        with open(path, "rb") as fh:
            return fh.read(132)[128:] == b"DICM"
    except OSError:
        return False


def file_format(path: str | Path) -> str:
    """Normalised format of ``path``: its (double) extension, ``"folder"``, or ``"dicom"``.

    Raises
    ------
    CohortError
        If the extension is not one neurodx reads, or a folder is named like a file
        (``x.edf/``).
    """
    path = Path(path)
    name = path.name.lower()
    ext = next((e for e in sorted(MODALITY_OF_FORMAT, key=len, reverse=True)
                if e.startswith((".", "_")) and name.endswith(e)), None)
    if path.is_dir():
        # A series folder may be named like its files (``scan.dcm/``); any other
        # folder named like a file is a mistake worth naming, not a volume.
        if ext is None or ext in _DICOM_EXTENSIONS:
            return "folder"
        kind = ext.lstrip(".").upper()
        article = "an" if kind[0] in "AEFHILMNORSX" else "a"    # spelled letter names
        raise CohortError(f"{path}: is a folder, expected {article} {kind} file")
    if ext is not None:
        return ext
    if _is_dicom_file(path):
        return "dicom"
    known = ", ".join(f for f in MODALITY_OF_FORMAT if f.startswith((".", "_")))
    raise CohortError(f"{path}: unknown file format {''.join(path.suffixes) or '(none)'!r} "
                      f"(neurodx reads {known}, DICOM files, and DICOM/image folders)")


def is_bids_sidecar(path: Path) -> bool:
    """True for BIDS sidecars and companion files that are not recordings themselves."""
    name = path.name.lower()
    return name.startswith(".") or name.endswith(_SIDECAR_SUFFIXES) or \
        name.endswith(_SIDECAR_EXTENSIONS)
