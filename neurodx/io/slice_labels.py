"""Slice-level labels of a volume cohort: which slices of a scan show the lesion.

A head-CT cohort may say, for some or all of its patients, what each axial slice
shows, in a ``slices.tsv`` next to ``participants.tsv`` (BIDS-style: tab-separated,
``n/a`` for missing)::

    participant_id	slice	label
    sub-hemorrhage01	0	normal
    sub-hemorrhage01	1	hemorrhage
    sub-hemorrhage01	2	hemorrhage
    sub-hemorrhage01	3	normal

* ``slice``: 0-based index of the slice in the order neurodx reads the scan: a
  folder of PNG/JPG slices in natural name order (``slice-2`` before ``slice-10``);
  a NIfTI volume or DICOM series along the slicing axis after reorientation to RAS+
  (axial: 0 = the lowest slice);
* ``label``: one of the cohort's groups (``participants.tsv``), what the slice shows:
  ``normal`` for a slice of a hemorrhage patient without blood.

Slices a patient's rows do not list, and patients without rows, keep the patient's
group. The labels are read only when a CNN *trains*, and only for its training
subjects (:class:`neurodx.models.SliceVotingClassifier`, ``slice_labels``): a test
patient's rows are never looked at, and every metric stays per patient.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

import pandas as pd

from ..errors import CohortError

__all__ = ["SLICE_LABELS_FILE", "read_slice_labels", "check_slice_labels"]

#: The cohort file holding slice labels (next to ``participants.tsv``).
SLICE_LABELS_FILE = "slices.tsv"
_COLUMNS = ("participant_id", "slice", "label")
_HINT = "(fix the file, or set volume.slice_labels: none to ignore it)"


def read_slice_labels(path: str | Path, subjects: Collection[str]) -> dict[str, dict[int, str]]:
    """The slice labels of ``subjects`` from a ``slices.tsv``: ``{subject: {slice: label}}``.

    Only the rows of ``subjects`` are parsed and returned; the file's columns are
    checked whole. Subjects without rows are absent from the result.

    Raises
    ------
    CohortError
        Missing file or column, a slice that is not a non-negative integer, an empty
        label, or a slice listed twice for one subject (message names the file and
        the row).
    """
    path = Path(path)
    if not path.is_file():
        raise CohortError(f"{path}: slice-label file not found {_HINT}")
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False,
                            na_values=["n/a", ""])
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise CohortError(f"{path}: not a tab-separated table ({err}) {_HINT}") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in _COLUMNS if c not in table.columns]
    if missing:
        raise CohortError(f"{path}: missing column(s) {', '.join(missing)}; expected "
                          f"{', '.join(_COLUMNS)} {_HINT}")
    wanted = set(map(str, subjects))
    rows = table[table["participant_id"].isin(wanted)]
    out: dict[str, dict[int, str]] = {}
    for line, (sid, raw_slice, label) in zip(rows.index + 2, rows[list(_COLUMNS)].itertuples(
            index=False)):
        where = f"{path}, line {line} ({sid})"
        try:
            index = int(str(raw_slice).strip())
        except ValueError:
            index = -1
        if index < 0 or str(raw_slice).strip() != str(index):
            raise CohortError(f"{where}: slice must be a 0-based slice index, got {raw_slice!r} {_HINT}")
        if pd.isna(label) or not str(label).strip():
            raise CohortError(f"{where}: slice {index} has no label {_HINT}")
        per_subject = out.setdefault(sid, {})
        if index in per_subject:
            raise CohortError(f"{where}: slice {index} is listed twice {_HINT}")
        per_subject[index] = str(label).strip()
    return out


def check_slice_labels(labels: Mapping[str, Mapping[int, str]], classes: Collection[str],
                       n_slices: Mapping[str, int], source: str | Path) -> None:
    """Refuse slice labels that are not groups, or slices a scan does not have.

    ``n_slices`` is the number of slices neurodx reads from each subject's scan.
    """
    known = set(map(str, classes))
    for sid, per_slice in labels.items():
        for index, label in per_slice.items():
            if label not in known:
                raise CohortError(f"{source} ({sid}): slice {index} is labelled {label!r}, "
                                  f"not one of the groups {', '.join(sorted(known))} {_HINT}")
            if sid in n_slices and index >= n_slices[sid]:
                raise CohortError(f"{source} ({sid}): slice {index} does not exist (the scan "
                                  f"has {n_slices[sid]} slices, numbered from 0) {_HINT}")
