"""Cohorts: a folder with a BIDS-style ``participants.tsv`` and its recordings.

Recordings are found through a ``path`` column (relative to the folder, several
files separated by ``;``, glob patterns allowed) or, without that column, through
the BIDS layout ``sub-<id>/[ses-<s>/]{eeg,func,anat,ct}/...``.

Every subject that cannot be used is kept in :attr:`Cohort.excluded` with the
reason, so nothing is dropped silently.
"""
from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import CohortError, Problem
from .formats import MODALITY_OF_FORMAT, file_format, is_bids_sidecar

__all__ = ["Subject", "Cohort", "load_cohort", "read_participants", "recording_paths",
           "bids_recordings", "PARTICIPANTS_FILE"]

PARTICIPANTS_FILE = "participants.tsv"
_BIDS_DATATYPES = ("eeg", "func", "anat", "ct")


@dataclass(frozen=True)
class Subject:
    """One participant: ID, label, site and recording paths."""

    participant_id: str
    group: str
    site: str | None
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class Cohort:
    """A validated list of subjects with their labels and recordings.

    Attributes
    ----------
    root : Path
        The cohort folder.
    modality : {"eeg", "regions", "volume"}
        Kind of recordings, inferred from file formats unless given.
    subjects : tuple of Subject
        Usable subjects, in ``participants.tsv`` order.
    participants : DataFrame
        The full ``participants.tsv`` (all columns kept, all rows).
    problems : tuple of Problem
        Everything found while loading: errors exclude a subject (or stop a
        study, e.g. duplicate IDs); warnings are informative.
    excluded : tuple of str
        Participant IDs left out, each with at least one error in ``problems``.
    """

    root: Path
    modality: str
    subjects: tuple[Subject, ...]
    participants: pd.DataFrame = field(repr=False)
    problems: tuple[Problem, ...] = ()
    excluded: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.subjects)

    def __iter__(self) -> Iterator[Subject]:
        return iter(self.subjects)

    @property
    def participant_ids(self) -> list[str]:
        return [s.participant_id for s in self.subjects]

    @property
    def groups(self) -> list[str]:
        """Sorted group labels present among usable subjects."""
        return sorted({s.group for s in self.subjects})

    @property
    def sites(self) -> list[str]:
        return sorted({s.site for s in self.subjects if s.site is not None})

    @property
    def labels(self) -> np.ndarray:
        """Group label per usable subject (strings), aligned with :attr:`subjects`."""
        return np.array([s.group for s in self.subjects], dtype=object)

    @property
    def has_errors(self) -> bool:
        return any(p.is_error for p in self.problems)

    def subject(self, participant_id: str) -> Subject:
        for s in self.subjects:
            if s.participant_id == participant_id:
                return s
        raise KeyError(f"no usable subject {participant_id!r} in cohort {self.root}")

    def counts(self) -> pd.DataFrame:
        """Subjects per group (rows) and site (columns), with totals."""
        df = pd.DataFrame({"group": [s.group for s in self.subjects],
                           "site": [s.site or "-" for s in self.subjects]})
        if df.empty:
            return pd.DataFrame()
        return pd.crosstab(df["group"], df["site"], margins=True, margins_name="total")

    def restricted_to(self, participant_ids: Sequence[str], problems: Sequence[Problem] = ()
                      ) -> "Cohort":
        """A copy keeping only ``participant_ids``; the others become excluded with ``problems``."""
        keep = set(participant_ids)
        dropped = tuple(s.participant_id for s in self.subjects if s.participant_id not in keep)
        return Cohort(self.root, self.modality,
                      tuple(s for s in self.subjects if s.participant_id in keep),
                      self.participants, self.problems + tuple(problems),
                      self.excluded + dropped)


def read_participants(root: str | Path) -> pd.DataFrame:
    """A cohort folder's ``participants.tsv`` as a table of text.

    Every cell is read as text (IDs like ``"001"`` keep their zeros); BIDS's
    ``n/a`` and empty cells are missing values; column names are stripped.

    Raises
    ------
    CohortError
        The folder or its ``participants.tsv`` is missing, or the table is unreadable.
    """
    root = Path(root)
    tsv = root / PARTICIPANTS_FILE
    if not root.is_dir():
        raise CohortError(f"{root}: cohort folder not found")
    if not tsv.is_file():
        raise CohortError(f"{root}: no {PARTICIPANTS_FILE} (a cohort is a folder with a BIDS-style "
                          f"{PARTICIPANTS_FILE} listing participant_id and group)")
    try:
        # Everything as text: IDs like "001" must keep their zeros; BIDS writes "n/a" for missing.
        df = pd.read_csv(tsv, sep="\t", dtype=str, keep_default_na=False, na_values=["n/a", ""])
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise CohortError(f"{tsv}: not a readable tab-separated table ({err})") from None
    df.columns = [c.strip() for c in df.columns]
    return df


def _bids_id(participant_id: str) -> str:
    return participant_id if participant_id.startswith("sub-") else f"sub-{participant_id}"


def _inside(root: Path, path: Path) -> bool:
    # Lexical check (``..`` and absolute entries); links placed inside the folder by
    # whoever built the cohort are followed like any file.
    return Path(os.path.normpath(os.path.abspath(path))).is_relative_to(root)


def recording_paths(root: Path, entries: str, *, allow_outside: bool = False) -> list[Path]:
    """The files a ``participants.tsv`` ``path`` cell names, globs expanded.

    Parameters
    ----------
    root : Path
        The cohort folder (absolute).
    entries : str
        The cell: paths relative to ``root`` separated by ``;``, glob patterns allowed.
    allow_outside : bool
        Accept entries that lead outside ``root`` (``..``, absolute paths, a glob
        reaching up). Refused by default: a cohort must not read other folders.

    Raises
    ------
    CohortError
        An entry leads outside the cohort folder.
    """
    out = []
    for entry in (e.strip() for e in str(entries).split(";")):
        if not entry:
            continue
        if any(ch in entry for ch in "*?["):
            found = [Path(p) for p in sorted(glob.glob(str(root / entry)))]
        else:
            found = [root / entry]
        outside = [p for p in found if not _inside(root, p)]
        if outside and not allow_outside:
            raise CohortError(f"path {entry!r} leads outside the cohort folder (to "
                              f"{os.path.normpath(outside[0])}); set cohort.allow_outside "
                              "(--allow-outside) if that is intended")
        out += found
    return out


def bids_recordings(root: Path, participant_id: str) -> list[Path]:
    sub_dir = root / _bids_id(participant_id)
    if not sub_dir.is_dir():
        return []
    found = []
    for datatype in _BIDS_DATATYPES:
        for folder in sorted(sub_dir.glob(f"{datatype}")) + sorted(sub_dir.glob(f"ses-*/{datatype}")):
            for p in sorted(folder.iterdir()):
                if is_bids_sidecar(p):
                    continue
                try:
                    file_format(p)
                except CohortError:
                    continue
                found.append(p)
    return found


def _modality_of(paths: Sequence[Path]) -> set[str]:
    return {MODALITY_OF_FORMAT[file_format(p)] for p in paths}


def _unshared(subjects: list[Subject], root: Path, problems: list, excluded: list
              ) -> list[Subject]:
    """Exclude subjects whose recordings another subject also lists (a too-wide glob):
    one file under two participants would put the same data in training and test."""
    owners: dict[Path, list[str]] = {}
    for s in subjects:
        for p in s.paths:
            owners.setdefault(Path(os.path.normpath(os.path.abspath(p))), []).append(
                s.participant_id)
    shared: dict[str, list[Path]] = {}
    for p, pids in owners.items():
        if len(set(pids)) > 1:
            for pid in set(pids):
                shared.setdefault(pid, []).append(p)
    for s in subjects:
        if s.participant_id in shared:
            files = shared[s.participant_id]
            others = sorted({o for p in files for o in owners[p]} - {s.participant_id})
            rel = [p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p)
                   for p in files]
            problems.append(Problem(s.participant_id, f"recording {rel[0]}"
                                    + (f" (and {len(rel) - 1} more)" if len(rel) > 1 else "")
                                    + f" is also listed for {', '.join(others)}"))
            excluded.append(s.participant_id)
    return [s for s in subjects if s.participant_id not in shared]


def load_cohort(path: str | Path, *, groups: Sequence[str] | None = None,
                modality: str | None = None, group_column: str = "group",
                site_column: str = "site", allow_outside: bool = False) -> Cohort:
    """Read a cohort folder.

    Parameters
    ----------
    path : str | Path
        Folder holding ``participants.tsv``.
    groups : sequence of str, optional
        Allowed group labels; subjects with other labels are excluded with an
        error. By default every label found is a group.
    modality : {"eeg", "regions", "volume"}, optional
        Expected recording kind; inferred from file formats when omitted.
    group_column, site_column : str
        Column names in ``participants.tsv`` (BIDS datasets often use e.g.
        ``diagnosis`` for the label).
    allow_outside : bool
        Accept ``path`` entries leading outside the cohort folder (refused by
        default, with a per-subject error).

    Returns
    -------
    Cohort
        Raises :class:`~neurodx.errors.CohortError` only when the folder cannot be
        used at all (no table, no required column, no usable subject, mixed
        modalities); per-subject problems are collected in ``Cohort.problems``.
    """
    root = Path(path).expanduser().resolve()
    df = read_participants(root)
    tsv = root / PARTICIPANTS_FILE
    for col in ("participant_id", group_column):
        if col not in df.columns:
            raise CohortError(f"{tsv}: missing column {col!r} (columns found: "
                              f"{', '.join(df.columns)})")
    if df.empty:
        raise CohortError(f"{tsv}: no participants listed")
    allowed = None if groups is None else {str(g) for g in groups}

    problems: list[Problem] = []
    excluded: list[str] = []
    ids = df["participant_id"].fillna("").str.strip()
    dup_ids = sorted(set(ids[ids.duplicated(keep=False) & (ids != "")]))
    for pid in dup_ids:
        rows = [i + 2 for i in np.flatnonzero(ids == pid)]  # +2: header line, 1-based
        problems.append(Problem(pid, f"duplicate participant_id in {PARTICIPANTS_FILE} "
                                     f"(lines {', '.join(map(str, rows))})"))

    subjects = []
    for i, row in df.iterrows():
        pid = ids[i]
        if not pid:
            problems.append(Problem(f"{PARTICIPANTS_FILE} line {i + 2}", "empty participant_id"))
            continue
        if pid in dup_ids:
            if pid not in excluded:
                excluded.append(pid)
            continue
        group = row[group_column]
        if pd.isna(group) or not str(group).strip():
            problems.append(Problem(pid, f"no {group_column!r} label"))
            excluded.append(pid)
            continue
        group = str(group).strip()
        if allowed is not None and group not in allowed:
            problems.append(Problem(pid, f"unknown group label {group!r} (expected one of "
                                         f"{', '.join(sorted(allowed))})"))
            excluded.append(pid)
            continue
        site = row.get(site_column) if site_column in df.columns else None
        site = None if site is None or pd.isna(site) else str(site).strip()
        if "path" in df.columns and not pd.isna(row["path"]):
            try:
                paths = recording_paths(root, row["path"], allow_outside=allow_outside)
            except CohortError as err:
                problems.append(Problem(pid, str(err)))
                excluded.append(pid)
                continue
        else:
            paths = bids_recordings(root, pid)
        missing = [p for p in paths if not p.exists()]
        if missing:
            problems.append(Problem(pid, "recording not found: " +
                                    ", ".join(str(p.relative_to(root)) if p.is_relative_to(root)
                                              else str(p) for p in missing)))
            excluded.append(pid)
            continue
        if not paths:
            problems.append(Problem(pid, "no recording found (no 'path' entry and nothing under "
                                         f"{_bids_id(pid)}/{{{','.join(_BIDS_DATATYPES)}}}/)"))
            excluded.append(pid)
            continue
        try:
            _modality_of(paths)
        except CohortError as err:
            problems.append(Problem(pid, str(err)))
            excluded.append(pid)
            continue
        subjects.append(Subject(pid, group, site, tuple(paths)))

    subjects = _unshared(subjects, root, problems, excluded)
    if not subjects:
        details = "; ".join(str(p) for p in problems[:5])
        raise CohortError(f"{root}: no usable subject" + (f" ({details})" if details else ""))

    found = set().union(*(_modality_of(s.paths) for s in subjects))
    if modality is None:
        if len(found) > 1:
            raise CohortError(f"{root}: recordings of several kinds ({', '.join(sorted(found))}); "
                              "give the modality explicitly")
        modality = found.pop()
    elif found - {modality}:
        wrong = [s.participant_id for s in subjects if _modality_of(s.paths) - {modality}]
        for pid in wrong:
            problems.append(Problem(pid, f"recording is not of the expected modality {modality!r}"))
        excluded.extend(wrong)
        subjects = [s for s in subjects if s.participant_id not in set(wrong)]
        if not subjects:
            raise CohortError(f"{root}: no {modality} recording found")
    return Cohort(root, modality, tuple(subjects), df, tuple(problems), tuple(excluded))
