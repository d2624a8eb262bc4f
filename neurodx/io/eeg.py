"""Reading EEG recordings through MNE and selecting their EEG channels.

Every reader returns an :class:`mne.io.BaseRaw`, whatever the format (EDF, BDF,
BrainVision, EEGLAB, FIF; BIDS-EEG through mne-bids when the file lives in a BIDS
dataset; delimited text through :mod:`neurodx.io.text_eeg`). Reading problems
become :class:`~neurodx.errors.RecordingError` with one line naming the file:
MNE's warnings about truncated files and duplicate channel names are errors
here, because data would otherwise be guessed.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import mne
import numpy as np

from ..errors import CohortError, RecordingError
from .formats import EEG_FORMATS, file_format
from .quality import BAD_CHANNEL_POLICIES, FLAT_POLICIES
from .text_eeg import TEXT_EEG_FORMATS, read_text_eeg

__all__ = ["EEGSpec", "read_eeg", "pick_eeg_channels", "load_eeg", "DEFAULT_NON_EEG_PATTERNS",
           "interpolation_problem", "interpolate_bad_channels"]

#: Channel-name patterns (case-insensitive regular expressions) typed as non-EEG.
#: EDF stores no channel types, so MNE reads every channel as EEG; these names are
#: the usual auxiliary channels of clinical and research amplifiers.
DEFAULT_NON_EEG_PATTERNS: dict[str, str] = {
    r"^(h|v|l|r)?eog": "eog",
    r"eog$": "eog",
    r"^(ecg|ekg)": "ecg",
    r"^emg": "emg",
    r"^(status|trigger|trig|sti\s*\d*|stim|marker|event)s?$": "stim",
    r"^(resp|breath)": "resp",
    r"^(gsr|eda)": "gsr",
    r"^(spo2|pulse|pleth)": "misc",
    r"^(photic|light|dc\d*)$": "misc",
    r"^(x|y|z|acc[xyz]?)$": "misc",
}

_READERS = {
    ".edf": mne.io.read_raw_edf,
    ".bdf": mne.io.read_raw_bdf,
    ".vhdr": mne.io.read_raw_brainvision,
    ".set": mne.io.read_raw_eeglab,
    ".fif": mne.io.read_raw_fif,
    ".fif.gz": mne.io.read_raw_fif,
}

# MNE warnings that mean the data on disk are not what the header promises.
_FATAL_WARNINGS = {
    "does not match the file size": "truncated file: fewer data records than the header announces",
    "Channel names are not unique": "duplicate channel names",
}


@dataclass
class EEGSpec:
    """What a study expects of its EEG recordings.

    Parameters
    ----------
    n_channels : int, optional
        Required number of EEG channels after non-EEG channels are excluded
        (64 for the HC/FES/CHR study). ``None`` accepts the cohort's most common set.
    channel_names : sequence of str, optional
        Required EEG channels, in the order used downstream. ``None`` takes the
        cohort's most common channel set, in the order of its first recording.
    non_eeg_patterns : mapping
        ``{regex: channel type}`` for channels to type as non-EEG (matched
        case-insensitively on names of channels read as EEG).
    exclude : sequence of str
        Further channel names to drop, e.g. reference leads ``["M1", "M2"]``.
    sfreq : float, optional
        Sampling rate used downstream; ``None`` takes the cohort's most common rate.
    sfreq_policy : {"resample", "refuse"}
        What to do with recordings at another rate.
    min_duration : float
        Shortest usable recording in seconds.
    flat_std : float
        A channel whose standard deviation is below this (volts) is flat.
    flat_ratio : float
        A channel whose standard deviation is below ``flat_ratio`` times the
        recording's median channel standard deviation is also flat.
    saturation_fraction : float
        A channel with more than this fraction of samples at its extreme values
        is saturated (clipped by the amplifier or the file's range).
    flat_policy : {"refuse", "drop", "skip_subject"}
        What a flat channel does: stop the study (``"refuse"``), remove the
        channel from every subject of the cohort (``"drop"``), or leave out
        the subjects that have one (``"skip_subject"``).
    bad_channels : {"exclude", "interpolate", "ignore"}
        What a channel marked bad in its recording does (``status: bad`` in a
        BIDS ``_channels.tsv``): removed from every subject of the cohort
        (``"exclude"``), interpolated from its neighbours by MNE's spherical
        splines (``"interpolate"``; the recording needs electrode positions, e.g.
        an ``_electrodes.tsv``), or used as it is (``"ignore"``). Bad channels
        are not tested for flatness unless ignored.
    text_orientation : {"samples", "channels"}
        Text EEG files only: what one row holds, when no sidecar says.
    text_unit : str
        Text EEG files only: unit of the values (``uV``, ``mV``, ``V``, ``nV``)
        when no ``_channels.tsv`` says. ``sfreq`` and ``channel_names`` also
        describe text files that have no sidecar or header.
    """

    n_channels: int | None = None
    channel_names: Sequence[str] | None = None
    non_eeg_patterns: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULT_NON_EEG_PATTERNS))
    exclude: Sequence[str] = ()
    sfreq: float | None = None
    sfreq_policy: str = "resample"
    min_duration: float = 0.0
    flat_std: float = 1e-7
    flat_ratio: float = 1e-2
    saturation_fraction: float = 0.01
    flat_policy: str = "refuse"
    bad_channels: str = "exclude"
    text_orientation: str = "samples"
    text_unit: str = "uV"

    def __post_init__(self):
        if self.sfreq_policy not in ("resample", "refuse"):
            raise ValueError(f"sfreq_policy must be 'resample' or 'refuse', "
                             f"got {self.sfreq_policy!r}")
        if self.flat_policy not in FLAT_POLICIES:
            raise ValueError(f"flat_policy must be one of {', '.join(FLAT_POLICIES)}, "
                             f"got {self.flat_policy!r}")
        if self.bad_channels not in BAD_CHANNEL_POLICIES:
            raise ValueError(f"bad_channels must be one of {', '.join(BAD_CHANNEL_POLICIES)}, "
                             f"got {self.bad_channels!r}")
        if self.n_channels is not None and self.n_channels < 2:
            raise ValueError(f"n_channels must be at least 2, got {self.n_channels}")
        if self.channel_names is not None:
            self.channel_names = list(self.channel_names)
            if self.n_channels is not None and len(self.channel_names) != self.n_channels:
                raise ValueError(f"{len(self.channel_names)} channel_names given but "
                                 f"n_channels={self.n_channels}")


def _bids_root(path: Path) -> Path | None:
    for parent in list(path.parents)[:5]:
        if (parent / "dataset_description.json").is_file():
            return parent
    return None


def _read(path: Path, fmt: str, preload: bool) -> mne.io.BaseRaw:
    root = _bids_root(path)
    if root is not None and path.name.startswith("sub-"):
        try:
            import mne_bids
        except ImportError:  # mne-bids is optional at run time: fall back to the plain reader
            mne_bids = None
        if mne_bids is not None:
            bids_path = mne_bids.get_bids_path_from_fname(path)
            bids_path.update(root=root)
            raw = mne_bids.read_raw_bids(bids_path, verbose="WARNING")
            return raw.load_data(verbose="ERROR") if preload else raw
    return _READERS[fmt](path, preload=preload, verbose="WARNING")


def read_eeg(path: str | Path, *, preload: bool = False, spec: EEGSpec | None = None
             ) -> mne.io.BaseRaw:
    """Read one EEG recording with MNE.

    Parameters
    ----------
    path : str | Path
        An ``.edf``, ``.bdf``, ``.vhdr``, ``.set``, ``.fif`` or ``.fif.gz`` file.
        Inside a BIDS dataset (a ``dataset_description.json`` above it), mne-bids
        reads it with its sidecars (channel types, bad channels, ``events.tsv``).
    preload : bool
        Load the data into memory now (default: read lazily, on demand).
        Text files are always read whole.
    spec : EEGSpec, optional
        For text files (``*_eeg.csv``/``.tsv``/``.txt``) without sidecars: the
        sampling rate, channel names, orientation and unit to assume.

    Raises
    ------
    RecordingError
        Missing, unreadable, truncated or unknown-format files, and duplicate channel names.
    """
    path = Path(path)
    if not path.exists():
        raise RecordingError(path, "file not found")
    try:
        fmt = file_format(path)
    except CohortError as err:
        raise RecordingError(path, str(err).split(": ", 1)[1]) from None
    if fmt not in EEG_FORMATS:
        raise RecordingError(path, f"{fmt} is not an EEG format (expected one of "
                                   f"{', '.join(EEG_FORMATS)})")
    if fmt in TEXT_EEG_FORMATS:
        spec = spec or EEGSpec()
        return read_text_eeg(path, sfreq=spec.sfreq, channel_names=spec.channel_names,
                             orientation=spec.text_orientation, unit=spec.text_unit)
    failure = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            raw = _read(path, fmt, preload)
        except Exception as err:  # noqa: BLE001 - any reader failure is the file's problem
            failure = err
    # A fatal warning explains a later reader crash better than the crash itself
    # (e.g. MNE renames duplicate channels, then fails on the renamed ones).
    for w in caught:
        text = str(w.message)
        for needle, meaning in _FATAL_WARNINGS.items():
            if needle in text:
                raise RecordingError(path, f"{meaning} ({text.splitlines()[0]})") from failure
    if failure is not None:
        raise RecordingError(path, f"unreadable {fmt} file ({type(failure).__name__}: "
                                   f"{str(failure).splitlines()[0] if str(failure) else ''})"
                             ) from failure
    return raw


def pick_eeg_channels(raw: mne.io.BaseRaw, spec: EEGSpec | None = None
                      ) -> tuple[mne.io.BaseRaw, list[str]]:
    """Type auxiliary channels, drop excluded ones and keep EEG channels only.

    Works in place on ``raw`` (lazily: no data are loaded).

    Returns
    -------
    raw : mne.io.BaseRaw
        The same object, now holding EEG channels only (bad channels included:
        validation decides about them).
    removed : list of str
        Names of the channels removed, for reporting.
    """
    spec = spec or EEGSpec()
    patterns = [(re.compile(p, re.IGNORECASE), t) for p, t in spec.non_eeg_patterns.items()]
    eeg_names = [raw.ch_names[i] for i in mne.pick_types(raw.info, eeg=True, exclude=[])]
    new_types = {}
    for name in eeg_names:
        for regex, ch_type in patterns:
            if regex.search(name.strip()):
                new_types[name] = ch_type
                break
    if new_types:
        raw.set_channel_types(new_types, on_unit_change="ignore", verbose="ERROR")
    exclude = {n.lower() for n in spec.exclude}
    keep_idx = [int(i) for i in mne.pick_types(raw.info, eeg=True, exclude=[])
                if raw.ch_names[i].lower() not in exclude]
    keep = [raw.ch_names[i] for i in keep_idx]
    removed = [n for n in raw.ch_names if n not in set(keep)]
    if not keep:
        raise RecordingError(_source(raw), "no EEG channel left after excluding "
                                           f"{len(removed)} non-EEG channels")
    # By index: a damaged header can hold names (NUL bytes) that MNE cannot pick by name.
    raw.pick(keep_idx, verbose="ERROR")
    return raw, removed


def interpolation_problem(raw: mne.io.BaseRaw) -> str | None:
    """Why ``raw``'s bad EEG channels cannot be interpolated (None when they can)."""
    bads = [c for c in raw.info["bads"] if c in raw.ch_names]
    if not bads:
        return None
    montage = raw.get_montage()
    pos = montage.get_positions()["ch_pos"] if montage is not None else {}
    placed = {c for c, p in pos.items() if np.all(np.isfinite(p))}
    missing = [c for c in bads if c not in placed]
    if missing:
        return (f"bad channel(s) {', '.join(missing[:8])} cannot be interpolated: no electrode "
                "positions (add an _electrodes.tsv, or set eeg.bad_channels to exclude)")
    good = [c for c in raw.ch_names if c not in bads and c in placed]
    if len(good) < 3:
        return (f"{len(bads)} bad channel(s) cannot be interpolated from {len(good)} placed "
                "good channels (set eeg.bad_channels to exclude)")
    return None


def interpolate_bad_channels(raw: mne.io.BaseRaw, path) -> mne.io.BaseRaw:
    """Interpolate ``raw``'s bad channels in place (MNE spherical splines), or explain why not."""
    problem = interpolation_problem(raw)
    if problem is not None:
        raise RecordingError(path, problem)
    raw.interpolate_bads(reset_bads=True, verbose="ERROR")
    return raw


def _source(raw: mne.io.BaseRaw) -> str:
    fnames = getattr(raw, "filenames", None)
    return str(fnames[0]) if fnames and fnames[0] is not None else "<in-memory recording>"


def load_eeg(path: str | Path, spec: EEGSpec, channel_names: Sequence[str], sfreq: float
             ) -> mne.io.BaseRaw:
    """Read a recording ready for a study: EEG channels in ``channel_names`` order at ``sfreq``.

    Channels are matched by name (so recordings with another channel order line
    up), extra EEG channels are dropped, and the recording is resampled when the
    spec allows it. Channels marked bad are interpolated under
    ``spec.bad_channels == "interpolate"`` and unmarked under ``"ignore"``
    (under ``"exclude"`` the cohort check has left them out of ``channel_names``).
    Data quality is checked by :func:`neurodx.io.check_recording`; this function
    only refuses what it cannot line up.
    """
    raw, _ = pick_eeg_channels(read_eeg(path, spec=spec), spec)
    missing = [c for c in channel_names if c not in raw.ch_names]
    if missing:
        raise RecordingError(path, f"{len(raw.ch_names)} EEG channels, missing "
                                   f"{len(missing)} required: {', '.join(missing[:8])}"
                                   + (" ..." if len(missing) > 8 else ""))
    bads = [c for c in raw.info["bads"] if c in raw.ch_names]
    if bads and spec.bad_channels == "interpolate":
        raw.load_data(verbose="ERROR")
        interpolate_bad_channels(raw, path)
    raw.pick(list(channel_names), verbose="ERROR")
    raw.reorder_channels(list(channel_names))
    raw.load_data(verbose="ERROR")
    if spec.bad_channels == "ignore":
        raw.info["bads"] = []
    if raw.info["sfreq"] != sfreq:
        if spec.sfreq_policy == "refuse":
            raise RecordingError(path, f"sampling rate {raw.info['sfreq']:g} Hz, the study "
                                       f"uses {sfreq:g} Hz and eeg.sfreq_policy is refuse "
                                       "(set it to resample, or --sfreq-policy resample)")
        raw.resample(sfreq, verbose="ERROR")
    return raw
