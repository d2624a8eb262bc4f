"""Delimited-text EEG (``*_eeg.csv``, ``*_eeg.tsv``, ``*_eeg.txt``) read as an MNE Raw.

Public EEG collections are often shared as spreadsheets exported from the
amplifier software. Text carries no header information, so what a binary
format stores in its header is taken, in this order, from:

1. BIDS-style sidecars next to the file: ``<name>_eeg.json`` with
   ``SamplingFrequency`` (required for the rate) and ``<name>_channels.tsv``
   with ``name``, ``type`` (EEG, EOG, EMG, ECG, MISC, ...), ``units``
   (``uV``, ``mV``, ``V``, ``nV``) and ``status`` (``bad`` channels follow
   ``eeg.bad_channels``), one row per column of the file, in order;
2. a header row of the file itself (channel names; a first row made only of
   numbers is data, not a header);
3. the study's settings: ``eeg.sfreq`` (the rate), ``eeg.channel_names`` (the
   names, in column order), ``eeg.text_unit`` and ``eeg.text_orientation``.

Rows are samples and columns channels by default; ``eeg.text_orientation:
channels`` (or ``"RowsAre": "channels"`` in the JSON sidecar) reads rows as
channels. Values are microvolts unless the channels table or ``eeg.text_unit``
says otherwise, and are converted to volts as MNE expects. A missing rate, a
cell that is not a number, an empty cell, ragged rows and a names/columns
mismatch are refused with one line naming the file and the setting to change.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import mne
import numpy as np
import pandas as pd

from ..errors import RecordingError

__all__ = ["TEXT_EEG_FORMATS", "TEXT_UNITS", "read_text_eeg", "text_eeg_sidecars"]

#: File-name endings read as text EEG (the BIDS ``_eeg`` suffix tells them from
#: region time series, which share the ``.csv``/``.tsv`` extensions).
TEXT_EEG_FORMATS = ("_eeg.csv", "_eeg.tsv", "_eeg.txt")
#: Units accepted in ``_channels.tsv`` and ``eeg.text_unit``, with their factor to volts.
TEXT_UNITS = {"uv": 1e-6, "µv": 1e-6, "μv": 1e-6, "mv": 1e-3, "v": 1.0, "nv": 1e-9}
_ORIENTATIONS = ("samples", "channels")
# BIDS channel types and the MNE type each becomes.
_BIDS_TYPES = {"eeg": "eeg", "eog": "eog", "veog": "eog", "heog": "eog", "emg": "emg",
               "ecg": "ecg", "ekg": "ecg", "misc": "misc", "trig": "stim", "stim": "stim",
               "resp": "resp", "gsr": "gsr", "ref": "misc", "other": "misc"}


def text_eeg_sidecars(path: str | Path) -> tuple[Path, Path]:
    """The JSON sidecar and channels table that describe text EEG file ``path``.

    ``sub-01_task-rest_eeg.csv`` is described by ``sub-01_task-rest_eeg.json`` and
    ``sub-01_task-rest_channels.tsv`` (either may be absent).
    """
    path = Path(path)
    stem = path.name[: -len(".csv")]           # every text EEG ending is 4 characters long
    base = stem[: -len("_eeg")] if stem.lower().endswith("_eeg") else stem
    return path.with_name(stem + ".json"), path.with_name(base + "_channels.tsv")


def _read_json(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RecordingError(path, f"not a readable JSON sidecar ({type(err).__name__})") from None
    if not isinstance(meta, dict):
        raise RecordingError(path, "JSON sidecar must hold an object")
    return meta


def _read_channels(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        raise RecordingError(path, f"not a readable channels table ({type(err).__name__})"
                             ) from None
    table.columns = [c.strip().lower() for c in table.columns]
    if "name" not in table.columns:
        raise RecordingError(path, "channels table has no 'name' column")
    return table


def _delimiter(first_line: str, fmt: str) -> str:
    if fmt == "_eeg.csv":
        return ","
    if fmt == "_eeg.tsv":
        return "\t"
    for sep in ("\t", ",", ";"):
        if sep in first_line:
            return sep
    return r"\s+"


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _unit_factor(unit: str, path: Path, setting: str) -> float:
    factor = TEXT_UNITS.get(str(unit).strip().lower())
    if factor is None:
        raise RecordingError(path, f"unknown unit {unit!r} (expected one of uV, mV, V, nV; "
                                   f"set {setting})")
    return factor


def read_text_eeg(path: str | Path, *, sfreq: float | None = None,
                  channel_names: Sequence[str] | None = None, orientation: str | None = None,
                  unit: str | None = None) -> mne.io.RawArray:
    """Read one delimited-text EEG file.

    Parameters
    ----------
    path : str | Path
        A ``*_eeg.csv`` (comma), ``*_eeg.tsv`` (tab) or ``*_eeg.txt`` (tab,
        comma, semicolon or white space, from the first line) file.
    sfreq : float, optional
        Sampling rate in Hz when the JSON sidecar gives none (``eeg.sfreq``).
    channel_names : sequence of str, optional
        Column names when neither a channels table nor a header row gives them
        (``eeg.channel_names``).
    orientation : {"samples", "channels"}, optional
        What a row is when the sidecar does not say (``eeg.text_orientation``;
        default ``"samples"``).
    unit : str, optional
        Unit of values when the channels table does not say (``eeg.text_unit``;
        default microvolts).

    Returns
    -------
    mne.io.RawArray
        Data in volts; channel types from the channels table (EOG, EMG, ...),
        otherwise EEG (name patterns then type auxiliary channels downstream).

    Raises
    ------
    RecordingError
        One line naming the file and the setting to change.
    """
    path = Path(path)
    fmt = next((f for f in TEXT_EEG_FORMATS if path.name.lower().endswith(f)), None)
    if fmt is None:
        raise RecordingError(path, f"not a text EEG file (names end with "
                                   f"{', '.join(TEXT_EEG_FORMATS)})")
    json_path, channels_path = text_eeg_sidecars(path)
    meta = _read_json(json_path) if json_path.is_file() else {}
    table = _read_channels(channels_path) if channels_path.is_file() else None

    rate = meta.get("SamplingFrequency", sfreq)
    where = json_path.name if "SamplingFrequency" in meta else "eeg.sfreq"
    if rate is None:
        raise RecordingError(path, f"no sampling rate: write SamplingFrequency in "
                                   f"{json_path.name} or set eeg.sfreq")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not np.isfinite(rate) \
            or rate <= 0:
        raise RecordingError(path, f"sampling rate {rate!r} from {where} is not a positive "
                                   "number of Hz")
    orientation = meta.get("RowsAre", orientation or "samples")
    if orientation not in _ORIENTATIONS:
        raise RecordingError(path, f"orientation {orientation!r} is not 'samples' or "
                                   "'channels' (set eeg.text_orientation or RowsAre in "
                                   f"{json_path.name})")

    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
        sep = _delimiter(first, fmt)
        tokens = [t.strip().strip('"') for t in
                  (first.split() if sep == r"\s+" else next(csv.reader([first], delimiter=sep)))]
        header = bool(tokens) and not all(_is_number(t) for t in tokens if t)
        frame = pd.read_csv(path, sep=sep, header=0 if header else None, dtype=np.float64,
                            encoding="utf-8-sig", engine="c" if sep != r"\s+" else "python",
                            skip_blank_lines=True, comment=None)
    except (ValueError, pd.errors.ParserError) as err:
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        if "could not convert" in text or "Unable to parse" in text:
            text = "a cell is not a number (" + text + ")"
        raise RecordingError(path, f"unreadable text EEG: {text}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise RecordingError(path, f"unreadable text EEG ({type(err).__name__}: {err})") from None
    if frame.empty:
        raise RecordingError(path, "no data rows")
    data = frame.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(data)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise RecordingError(path, f"{int(bad.sum())} empty or non-finite value(s), first at "
                                   f"data row {row + 1}, column {col + 1} (short rows are "
                                   "padded with empty values)")
    if orientation == "samples":
        data = data.T
    n_channels = data.shape[0]

    if table is not None:
        names, source = list(table["name"]), channels_path.name
    elif header and orientation == "samples":
        names, source = [str(c).strip() for c in frame.columns], "the header row"
    elif channel_names is not None:
        names, source = list(channel_names), "eeg.channel_names"
    else:
        names, source = [f"EEG{i + 1:03d}" for i in range(n_channels)], None
    if len(names) != n_channels:
        unit_name = "columns" if orientation == "samples" else "rows"
        raise RecordingError(path, f"{n_channels} {unit_name} of data but {len(names)} "
                                   f"channel names in {source} "
                                   "(check eeg.text_orientation and eeg.channel_names)")
    if len(set(names)) != len(names):
        raise RecordingError(path, f"duplicate channel names in {source}")

    types = ["eeg"] * n_channels
    default_factor = _unit_factor(unit or "uV", path, "eeg.text_unit")
    factors = np.full(n_channels, default_factor)
    if table is not None:
        if "type" in table.columns:
            types = [_BIDS_TYPES.get(t.strip().lower(), "misc") for t in table["type"]]
        if "units" in table.columns:
            factors = np.array([_unit_factor(u, channels_path, f"units in {channels_path.name}")
                                if u.strip() else default_factor for u in table["units"]])
    info = mne.create_info(names, float(rate), types, verbose="ERROR")
    if table is not None and "status" in table.columns:
        # BIDS status column: the study's eeg.bad_channels decides what "bad" does.
        info["bads"] = [n for n, st in zip(names, table["status"])
                        if st.strip().lower() == "bad"]
    raw = mne.io.RawArray(data * factors[:, None], info, verbose="ERROR")
    # filenames lets error messages downstream name the file, as for the binary readers.
    raw._filenames = [path]
    return raw
