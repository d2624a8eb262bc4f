"""What ``neurodx score`` scores: files, folders and cohorts turned into one list of inputs.

* a **file** is one input (its participant id is the file name without extensions);
* a **cohort** (a folder with ``participants.tsv``) gives one input per recording it
  lists, named by its ``participant_id`` (no group label needed);
* any other **folder** is walked: every file is an input, except hidden files, BIDS
  sidecars and companion files (``.json``, ``.vmrk``, ``.eeg``, ``.fdt``...); for a
  volume model, a folder of DICOM or image slices is one input (a series).

Files in formats neurodx cannot read are inputs too, so they are reported as
errors rather than skipped. The content hash of an input (SHA-256 over its bytes,
its companion files, or every file of a series folder) keys the scoring journal.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .._hashing import sha256_file
from ..errors import CohortError, RecordingError
from ..io import PARTICIPANTS_FILE
from ..io.formats import MODALITY_OF_FORMAT, is_bids_sidecar

__all__ = ["ScoreInput", "expand_inputs", "input_sha256"]

# Data files of multi-file EEG formats, hashed with their header file.
_COMPANIONS = {".vhdr": (".eeg", ".vmrk"), ".set": (".fdt",)}


@dataclass(frozen=True)
class ScoreInput:
    """One recording or scan to score.

    Attributes
    ----------
    participant_id : str
        From the cohort's ``participants.tsv``, else the file (or folder) name
        without extensions.
    file : str
        The path as shown in ``scores.csv``: the command-line argument it came
        from, joined with its path inside that folder.
    path : Path or None
        The absolute path read (None when a cohort row names no recording).
    error : str or None
        Why it cannot be scored at all (missing file...), found while listing.
    """

    participant_id: str
    file: str
    path: Path | None
    error: str | None = None


def _stem(path: Path) -> str:
    """File name without its format extension (``x.nii.gz`` -> ``x``)."""
    name = path.name
    for ext in sorted((e for e in MODALITY_OF_FORMAT if e.startswith(".")), key=len,
                      reverse=True):
        if name.lower().endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)]
    return path.stem or name


def _is_series(folder: Path) -> bool:
    """A folder holding one DICOM series or a stack of image slices (no sub-folders)."""
    from ..io import volume_format

    if any(p.is_dir() for p in folder.iterdir() if not p.name.startswith(".")):
        return False
    try:
        return volume_format(folder) in ("dicom", "images")
    except (RecordingError, CohortError):
        return False


def _walk(root: Path, shown: str, modality: str, skip: set[Path]) -> list[ScoreInput]:
    out = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.resolve() in skip:
            continue
        label = f"{shown}/{entry.name}"
        if entry.is_dir():
            if modality == "volume" and _is_series(entry):
                out.append(ScoreInput(entry.name, label, entry.resolve()))
            else:
                out += _walk(entry, label, modality, skip)
        elif not is_bids_sidecar(entry) and entry.name != PARTICIPANTS_FILE:
            out.append(ScoreInput(_stem(entry), label, entry.resolve()))
    return out


def _cohort(root: Path, shown: str) -> list[ScoreInput]:
    from ..io.cohort import _bids_recordings, _expand

    try:
        df = pd.read_csv(root / PARTICIPANTS_FILE, sep="\t", dtype=str, keep_default_na=False,
                         na_values=["n/a", ""])
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise CohortError(f"{root / PARTICIPANTS_FILE}: not a readable tab-separated table "
                          f"({err})") from None
    df.columns = [c.strip() for c in df.columns]
    if "participant_id" not in df.columns:
        raise CohortError(f"{root / PARTICIPANTS_FILE}: missing column 'participant_id'")
    out = []
    for _, row in df.iterrows():
        pid = "" if pd.isna(row["participant_id"]) else str(row["participant_id"]).strip()
        if not pid:
            continue
        if "path" in df.columns and not pd.isna(row["path"]):
            paths = [p for entry in str(row["path"]).split(";") for p in _expand(root, entry)]
        else:
            paths = _bids_recordings(root, pid)
        if not paths:
            out.append(ScoreInput(pid, "", None, "no recording listed or found for this "
                                                 "participant"))
        for p in paths:
            rel = p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p)
            label = f"{shown}/{rel}"
            out.append(ScoreInput(pid, label, p.resolve()) if p.exists()
                       else ScoreInput(pid, label, None, "file not found"))
    return out


def expand_inputs(args, modality: str, *, skip=()) -> list[ScoreInput]:
    """List the inputs named by command-line arguments (files, folders, cohorts).

    Parameters
    ----------
    args : sequence of path-like
    modality : {"eeg", "regions", "volume"}
        The model's modality (decides whether a slice folder is one input).
    skip : sequence of path-like
        Files never taken as inputs (the output and its journal).

    Returns
    -------
    list of ScoreInput
        Sorted by ``file``; an input reached twice is listed once.
    """
    skip = {Path(p).resolve() for p in skip}
    out = []
    for arg in args:
        path = Path(arg)
        shown = str(arg).rstrip("/\\" + os.sep) or str(arg)
        if not path.exists():
            out.append(ScoreInput(_stem(path), shown, None, "file not found"))
        elif path.is_dir() and (path / PARTICIPANTS_FILE).is_file():
            out += _cohort(path.resolve(), shown)
        elif path.is_dir() and not (modality == "volume" and _is_series(path)):
            out += _walk(path, shown, modality, skip)
        else:
            out.append(ScoreInput(_stem(path), shown, path.resolve()))
    seen, unique = set(), []
    for item in sorted(out, key=lambda i: (i.file, i.participant_id)):
        key = item.path if item.path is not None else (item.participant_id, item.file)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique



def input_sha256(path: Path) -> str:
    """SHA-256 of what scoring ``path`` reads.

    A plain file: the SHA-256 of its bytes (what ``sha256sum`` prints). A file with
    companions (BrainVision, EEGLAB) or a folder: the SHA-256 of a listing of
    ``name<TAB>sha256`` lines, one per file, in name order.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        names = [p.relative_to(path).as_posix() for p in files]
    else:
        companions = [path.with_suffix(ext) for ext in _COMPANIONS.get(path.suffix.lower(), ())
                      if path.with_suffix(ext).is_file()]
        if not companions:
            return sha256_file(path)
        files = [path, *companions]
        names = [p.name for p in files]
    listing = "".join(f"{n}\t{sha256_file(p)}\n" for n, p in zip(names, files))
    return hashlib.sha256(listing.encode()).hexdigest()
