"""Region time series: fMRI (or other) signals already averaged within atlas regions.

A file holds one row per time point and one column per region, as ``.tsv``,
``.csv``, ``.npy`` or AFNI-style ``.1D`` (whitespace separated, ``#`` comments).
A header row of region names is used when present.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import CohortError, RecordingError
from .formats import REGION_FORMATS, file_format
from .npy import read_npy
from .quality import FLAT_POLICIES

__all__ = ["RegionTimeSeries", "RegionSpec", "read_region_timeseries"]

# Every cell as the float Python reads from its text: pandas 3's C parser does so by
# default (and deprecates the option); pandas 2 needs the round-trip converter.
_EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {
    "float_precision": "round_trip"}


@dataclass(frozen=True)
class RegionTimeSeries:
    """Signals of one subject.

    Attributes
    ----------
    data : ndarray, shape (n_regions, n_times)
        Channel-major like MNE data, so the RMT stage treats regions as channels.
    region_names : tuple of str
    source : str
        File the data came from.
    """

    data: np.ndarray
    region_names: tuple[str, ...]
    source: str

    @property
    def n_regions(self) -> int:
        return self.data.shape[0]

    @property
    def n_times(self) -> int:
        return self.data.shape[1]


@dataclass
class RegionSpec:
    """What a study expects of region time series.

    Parameters
    ----------
    n_regions : int, optional
        Required number of regions; ``None`` accepts the cohort's most common count.
    min_timepoints : int
        Shortest usable series.
    flat_policy : {"refuse", "drop", "skip_subject"}
        What a region with a constant series does: stop the study
        (``"refuse"``), remove that column from every subject of the cohort
        (``"drop"``; regions are matched by column position), or leave out
        the subjects that have one (``"skip_subject"``).
    """

    n_regions: int | None = None
    min_timepoints: int = 20
    flat_policy: str = "refuse"

    def __post_init__(self):
        if self.flat_policy not in FLAT_POLICIES:
            raise ValueError(f"flat_policy must be one of {', '.join(FLAT_POLICIES)}, "
                             f"got {self.flat_policy!r}")


def _has_header(first_line: str, sep: str | None) -> bool:
    fields = first_line.strip().split(sep) if sep else first_line.split()
    for f in fields:
        try:
            float(f)
        except ValueError:
            if f.strip().lower() not in ("nan", "n/a", "inf", "-inf"):
                return True
    return False


def read_region_timeseries(path: str | Path) -> RegionTimeSeries:
    """Read a region time-series table.

    Raises
    ------
    RecordingError
        Missing or unreadable file, non-numeric cells, fewer than 2 regions.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordingError(path, "file not found")
    try:
        fmt = file_format(path)
    except CohortError as err:
        raise RecordingError(path, str(err).split(": ", 1)[1]) from None
    if fmt not in REGION_FORMATS:
        raise RecordingError(path, f"{fmt} is not a region time-series format (expected one "
                                   f"of {', '.join(REGION_FORMATS)})")
    names = None
    try:
        if fmt == ".npy":
            # Header checked first (absurd shapes, complex or object dtypes); never pickle.
            table = read_npy(path)
        else:
            sep = {".tsv": "\t", ".csv": ","}.get(fmt)
            with open(path, encoding="utf-8") as fh:
                lines = [ln for ln in fh if ln.strip() and not ln.lstrip().startswith("#")]
            if not lines:
                raise RecordingError(path, "empty table")
            header = _has_header(lines[0], sep)
            # pandas' C parser on the lines already read (comment and blank lines out):
            # about 10x faster than the Python engine on a 200 x 200 table, and a cohort
            # is read twice (check, then features)
            df = pd.read_csv(io.StringIO("".join(lines)), sep=sep if sep else r"\s+",
                             comment="#", engine="c", header=0 if header else None,
                             na_values=["n/a", "NA", "nan"], skip_blank_lines=True,
                             **_EXACT_FLOATS)
            if header:
                names = [str(c).strip() for c in df.columns]
            # only columns pandas could not parse as numbers can hold a non-numeric cell
            text = df.select_dtypes(exclude="number")
            bad = pd.DataFrame(False, index=df.index, columns=df.columns)
            if text.shape[1]:
                bad[text.columns] = text.apply(pd.to_numeric, errors="coerce").isna() \
                    & text.notna()
            if bad.to_numpy().any():
                r, c = np.argwhere(bad.to_numpy())[0]
                raise RecordingError(path, f"non-numeric value {df.iat[r, c]!r} at row "
                                           f"{r + 1}, column {c + 1}")
            table = df.to_numpy(dtype=np.float64)
    except RecordingError:
        raise
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise RecordingError(path, f"unreadable {fmt} table ({type(err).__name__}: "
                                   f"{str(err).splitlines()[0] if str(err) else ''})") from None
    table = np.asarray(table)
    if table.ndim != 2 or not np.issubdtype(table.dtype, np.number):
        raise RecordingError(path, f"expected a numeric 2-D table (time points x regions), got "
                                   f"shape {table.shape} of {table.dtype}")
    if table.shape[1] < 2:
        raise RecordingError(path, f"only {table.shape[1]} region column(s); expected one column "
                                   "per region and one row per time point")
    if names is None:
        names = [f"region_{i:03d}" for i in range(table.shape[1])]
    return RegionTimeSeries(np.ascontiguousarray(table.T, dtype=np.float64), tuple(names), str(path))
