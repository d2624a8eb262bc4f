"""What ``neurodx score`` scores: files, folders and cohorts turned into one list of inputs.

* a **file** is one input (its participant id is the file name without extensions);
* a **cohort** (a folder with ``participants.tsv``) gives one input per recording it
  lists, named by its ``participant_id`` (no group label needed);
* any other **folder** is walked: every file is an input, except hidden files, BIDS
  sidecars and companion files (``.json``, ``.vmrk``, ``.eeg``, ``.fdt``...); for a
  volume model, a folder of DICOM or image slices is one input (a series).

Files in formats neurodx cannot read are inputs too, so they are reported as
errors rather than skipped; so are FIFOs, devices, symbolic-link loops, empty
files and empty folders, found with ``os.stat`` before anything opens them. The content hash of an input (SHA-256 over its bytes,
its companion files, or every file of a series folder) keys the scoring journal.
"""
from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .._hashing import sha256_file
from ..errors import CohortError, RecordingError
from ..io import PARTICIPANTS_FILE, read_participants, volume_format
from ..io.cohort import bids_recordings, recording_paths
from ..study.modalities import get_modality
from ..io.formats import MODALITY_OF_FORMAT, file_format, is_bids_sidecar

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


def _file_kind(path: Path) -> tuple[str | None, str | None]:
    """``("file" | "folder", None)``, or ``(None, why it cannot be an input)``.

    Decided from ``os.stat`` alone, before anything opens the path: a FIFO would
    block the hashing forever and a ``/dev/zero`` link would never end.
    """
    try:
        st = os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return None, "symbolic link loop"
        if err.errno == errno.ENOENT:
            return None, "file not found" if not os.path.islink(path) else \
                "broken symbolic link (its target does not exist)"
        return None, f"cannot read ({err.strerror or err})"
    if stat.S_ISDIR(st.st_mode):
        try:
            file_format(path)       # refuses a folder named like a file (``x.edf/``)
        except CohortError as err:
            return None, str(err).split(": ", 1)[1]
        return "folder", None
    if not stat.S_ISREG(st.st_mode):
        what = ("a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else
                "a character device" if stat.S_ISCHR(st.st_mode) else
                "a block device" if stat.S_ISBLK(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "a special file")
        return None, f"not a regular file but {what}"
    if st.st_size == 0:
        return None, "empty file (0 bytes)"
    return "file", None


def _entries(folder: Path) -> list[Path]:
    """Visible entries of a folder, sorted by name."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _is_series(folder: Path) -> bool:
    """A folder holding one DICOM series or a stack of image slices (regular files only)."""
    entries = _entries(folder)
    if not entries or any(_file_kind(p)[0] != "file" for p in entries):
        return False
    try:
        return volume_format(folder) in ("dicom", "images")
    except (RecordingError, CohortError):
        return False


def _folder_id(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def _walk(root: Path, shown: str, modality: str, skip: set[Path],
          visited: set[tuple[int, int]], enclosing: tuple = ()) -> list[ScoreInput]:
    """Inputs under ``root``; a folder is entered once, so symbolic-link cycles end."""
    here = _folder_id(os.stat(root))
    visited.add(here)
    enclosing = (*enclosing, here)
    out = []
    try:
        entries = _entries(root)
    except OSError as err:
        return [ScoreInput(root.name, shown, None, f"cannot list this folder "
                                                   f"({err.strerror or err})")]
    for entry in entries:
        label = f"{shown}/{entry.name}"
        if (is_bids_sidecar(entry) or entry.name == PARTICIPANTS_FILE) and not entry.is_dir():
            continue                    # never opened, whatever kind of file it is
        kind, error = _file_kind(entry)
        if error is not None:
            out.append(ScoreInput(_stem(entry), label, None, error))
            continue
        if entry.resolve() in skip:
            continue
        if kind == "folder":
            target = _folder_id(os.stat(entry))
            if target in enclosing:
                out.append(ScoreInput(entry.name, label, None, "symbolic link back to an "
                                      "enclosing folder (a loop); not followed"))
                continue
            if target in visited:
                continue                # reached by another link: its inputs are listed
            if get_modality(modality).series_folders and _is_series(entry):
                out.append(ScoreInput(entry.name, label, entry.resolve()))
            else:
                out += _walk(entry, label, modality, skip, visited, enclosing)
        else:
            out.append(ScoreInput(_stem(entry), label, entry.resolve()))
    if not out:
        why = ("empty folder: no recording in it" if not entries else
               "no recording in this folder (only sidecar files)")
        out.append(ScoreInput(root.name, shown, None, why))
    return out


def _cohort(root: Path, shown: str, allow_outside: bool) -> list[ScoreInput]:
    df = read_participants(root)
    if "participant_id" not in df.columns:
        raise CohortError(f"{root / PARTICIPANTS_FILE}: missing column 'participant_id'")
    out = []
    for _, row in df.iterrows():
        pid = "" if pd.isna(row["participant_id"]) else str(row["participant_id"]).strip()
        if not pid:
            continue
        if "path" in df.columns and not pd.isna(row["path"]):
            try:
                paths = recording_paths(root, str(row["path"]), allow_outside=allow_outside)
            except CohortError as err:
                out.append(ScoreInput(pid, f"{shown}/{str(row['path']).strip()}", None,
                                      str(err)))
                continue
        else:
            paths = bids_recordings(root, pid)
        if not paths:
            out.append(ScoreInput(pid, "", None, "no recording listed or found for this "
                                                 "participant"))
        for p in paths:
            rel = p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p)
            label = f"{shown}/{rel}"
            _, error = _file_kind(p)
            out.append(ScoreInput(pid, label, p.resolve(), None) if error is None
                       else ScoreInput(pid, label, None, error))
    return out


def expand_inputs(args, modality: str, *, skip=(), allow_outside: bool = False
                  ) -> list[ScoreInput]:
    """List the inputs named by command-line arguments (files, folders, cohorts).

    Every candidate is checked with ``os.stat`` before anything reads it: only
    regular, non-empty files and folders are inputs; anything else (a FIFO, a
    device, a symbolic-link loop, an empty folder) is an input with an error.

    Parameters
    ----------
    args : sequence of path-like
    modality : {"eeg", "regions", "volume"}
        The model's modality (decides whether a slice folder is one input).
    skip : sequence of path-like
        Files never taken as inputs (the output and its journal).
    allow_outside : bool
        Let a cohort's ``path`` entries point outside the cohort folder.

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
        kind, error = _file_kind(path)
        if error is not None:
            out.append(ScoreInput(_stem(path), shown, None, error))
        elif kind == "folder" and (path / PARTICIPANTS_FILE).is_file():
            out += _cohort(path.resolve(), shown, allow_outside)
        elif kind == "folder" and not (get_modality(modality).series_folders and _is_series(path)):
            out += _walk(path, shown, modality, skip, set())
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
