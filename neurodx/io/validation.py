"""Checking every recording of a cohort, then the cohort's consistency.

Per file: readability, EEG channel typing, NaN/Inf, flat and saturated channels,
duration; for volumes, the checks of :mod:`neurodx.io.volume_checks` (3-D where
4-D is required, missing slices or mixed DICOM series, unreadable files, NaN).
Across the cohort: the channel set (matched by name) or region count, and
sampling rates; volume shapes and voxel sizes. The result lists one
:class:`~neurodx.errors.Problem` per finding, each naming the subject and the file.

Flat channels or regions follow the spec's ``flat_policy``: an error naming the
config key (``refuse``), a warning and the channel removed from every subject
(``drop``), or the subject left out while the study goes on (``skip_subject``).
EEG channels marked bad in a recording (BIDS ``_channels.tsv`` ``status: bad``)
follow ``bad_channels`` the same way: removed from every subject (``exclude``),
interpolated when the file is loaded (``interpolate``, refused without electrode
positions), or used as they are (``ignore``). ``BAD_`` annotated spans are counted
here; windowing skips them (:func:`neurodx.preprocessing.band_windows`).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from .._logging import progress, verbose as _verbose
from ..errors import ConfigError, Problem, RecordingError
from .cohort import Cohort
from ..preprocessing.windows import bad_spans
from .eeg import EEGSpec, interpolation_problem, pick_eeg_channels, read_eeg
from .quality import flat_channels, quality_problems, scan_signal
from .regions import RegionSpec, read_region_timeseries
from .volume_checks import VolumeSpec, check_volume_consistency, check_volume_file

__all__ = ["CohortCheck", "check_cohort", "check_eeg_file", "check_region_file"]


@dataclass
class CohortCheck:
    """Outcome of :func:`check_cohort`.

    Attributes
    ----------
    cohort : Cohort
        The cohort as loaded.
    recordings : DataFrame
        One row per file: participant_id, group, site, file, then for EEG and
        region cohorts n_channels, sfreq, n_times, duration_s; for volume cohorts
        the keys of :func:`~neurodx.io.volumes.describe_volume` (format, shape,
        canonical_shape, n_frames, zooms, tr, orientation, dtype, modality,
        units, min, max, n_nonfinite); NaN/None where unreadable. Column
        ``error`` says whether the file cannot be used (an error, or its subject
        left out under ``flat_policy: skip_subject``).
    problems : list of Problem
        Loading problems of the cohort followed by those found here.
    channel_names : list of str or None
        The EEG channel set used downstream, in order (EEG cohorts).
    sfreq : float or None
        The sampling rate used downstream (EEG cohorts).
    n_regions : int or None
        The region count used downstream (region cohorts).
    volume_shape : tuple of 3 int or None
        The reference spatial shape, in RAS order (volume cohorts): the expected
        shape, else the cohort's most common one.
    flat_dropped : dict of str to list of str
        Under ``flat_policy: drop``: each channel or region removed from every
        subject, with the subjects in which it is flat (empty otherwise). The
        EEG ``channel_names`` no longer hold them.
    region_columns : list of int or None
        Region cohorts under ``flat_policy: drop``: the column positions kept
        (regions are matched by position); None keeps every column.
    bads_dropped : dict of str to list of str
        EEG cohorts under ``bad_channels: exclude``: each channel marked bad in
        some usable subject's recording, with those subjects; removed from every
        subject (``channel_names`` no longer hold them).
    bad_annotations : dict of str to dict
        EEG cohorts: per subject with ``BAD_`` annotated spans, their number
        (``spans``), total length (``seconds``) and ``spans_at`` (``[start,
        stop)`` samples per file), which windowing skips.
    """

    cohort: Cohort
    recordings: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    channel_names: list[str] | None = None
    sfreq: float | None = None
    n_regions: int | None = None
    volume_shape: tuple[int, int, int] | None = None
    flat_dropped: dict[str, list[str]] = field(default_factory=dict)
    region_columns: list[int] | None = None
    bads_dropped: dict[str, list[str]] = field(default_factory=dict)
    bad_annotations: dict[str, dict] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        """Problems that stop a study."""
        return [p for p in self.problems if p.is_error]

    @property
    def skipped(self) -> list[Problem]:
        """Problems leaving their subject out by the user's policy; the study goes on."""
        return [p for p in self.problems if p.severity == "skip"]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)

    def usable_cohort(self) -> Cohort:
        """The cohort without subjects that have an error; they become excluded."""
        bad = {pid for pid, rows in self.recordings.groupby("participant_id")
               if rows["error"].any()}
        keep = [s.participant_id for s in self.cohort if s.participant_id not in bad]
        return self.cohort.restricted_to(keep)


def _source(cohort_root: Path, pid: str, path: Path) -> str:
    try:
        rel = path.relative_to(cohort_root)
    except ValueError:
        rel = path
    return f"{pid} {rel}"


def _listed(names, limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (f" ... ({len(names)} in all)" if len(names) > limit
                                       else "")


def _flat_problem(source: str, names: list[str], spec, unit: str) -> Problem:
    """The problem a file's flat channels/regions make under the spec's flat_policy."""
    key = "eeg.flat_policy" if isinstance(spec, EEGSpec) else "regions.flat_policy"
    found = f"flat {unit}(s) ({len(names)}): {_listed(names)}"
    if spec.flat_policy == "drop":
        return Problem(source, f"{found}; removed from every subject ({key}: drop)", "warning")
    if spec.flat_policy == "skip_subject":
        return Problem(source, f"{found}; subject left out ({key}: skip_subject)", "skip")
    return Problem(source, f"{found}; {key} is 'refuse': set it to 'drop' (remove them from "
                           f"every subject) or 'skip_subject' (leave such subjects out), e.g. "
                           f"--set {key}=drop (inspect: --flat-policy drop)")


def check_eeg_file(path: str | Path, spec: EEGSpec, source: str | None = None
                   ) -> tuple[dict, list[Problem]]:
    """Read and scan one EEG file; return its description and its own problems."""
    path = Path(path)
    source = source or str(path)
    info = {"n_channels": np.nan, "sfreq": np.nan, "n_times": np.nan, "duration_s": np.nan,
            "channel_names": None, "flat": (), "bads": (), "bad_spans": None}
    try:
        raw, removed = pick_eeg_channels(read_eeg(path, spec=spec), spec)
    except RecordingError as err:
        return info, [Problem(source, err.message)]
    problems = []
    if removed:
        problems.append(Problem(source, f"{len(removed)} non-EEG channel(s) excluded: "
                                        f"{', '.join(removed[:10])}"
                                        + (" ..." if len(removed) > 10 else ""), "warning"))
    sfreq = float(raw.info["sfreq"])
    info.update(n_channels=len(raw.ch_names), sfreq=sfreq, n_times=raw.n_times,
                duration_s=raw.n_times / sfreq, channel_names=tuple(raw.ch_names),
                bad_spans=bad_spans(raw))
    bads = [c for c in raw.ch_names if c in raw.info["bads"]]
    if bads and spec.bad_channels != "ignore":
        info["bads"] = tuple(bads)
        problems.append(_bad_channel_problem(source, raw, bads, spec))
    # Channels marked bad are not scanned unless used as they are: a dead electrode
    # marked bad must not also stop the study for being flat.
    scanned = [c for c in raw.ch_names if c not in info["bads"]]
    try:
        quality = scan_signal(lambda a, b: raw.get_data(picks=scanned, start=a, stop=b),
                              scanned, raw.n_times)
    except Exception as err:  # noqa: BLE001 - a reader failing mid-file is the file's problem
        return info, problems + [Problem(source, f"unreadable data ({type(err).__name__}: {err})")]
    problems += [Problem(source, m) for m in quality_problems(
        quality, flat_std=spec.flat_std, flat_ratio=spec.flat_ratio,
        saturation_fraction=spec.saturation_fraction, flat=False)]
    info["flat"] = tuple(flat_channels(quality, flat_std=spec.flat_std,
                                       flat_ratio=spec.flat_ratio))
    if info["flat"]:
        problems.append(_flat_problem(source, list(info["flat"]), spec, "channel"))
    if info["duration_s"] < spec.min_duration:
        problems.append(Problem(source, f"recording is {info['duration_s']:.1f} s long, shorter "
                                        f"than the required {spec.min_duration:g} s"))
    return info, problems


def _bad_channel_problem(source: str, raw, bads: list[str], spec: EEGSpec) -> Problem:
    found = f"{len(bads)} channel(s) marked bad in the recording: {_listed(bads)}"
    if spec.bad_channels == "interpolate":
        why = interpolation_problem(raw)
        if why is not None:
            return Problem(source, why)
        return Problem(source, f"{found}; interpolated (eeg.bad_channels: interpolate)",
                       "warning")
    return Problem(source, f"{found}; removed from every subject (eeg.bad_channels: exclude)",
                   "warning")


def check_region_file(path: str | Path, spec: RegionSpec, source: str | None = None
                      ) -> tuple[dict, list[Problem]]:
    """Read and scan one region time-series file."""
    source = source or str(path)
    info = {"n_channels": np.nan, "sfreq": np.nan, "n_times": np.nan, "duration_s": np.nan,
            "channel_names": None, "flat": ()}
    try:
        ts = read_region_timeseries(path)
    except RecordingError as err:
        return info, [Problem(source, err.message)]
    info.update(n_channels=ts.n_regions, n_times=ts.n_times, channel_names=ts.region_names)
    quality = scan_signal(lambda a, b: ts.data[:, a:b], ts.region_names, ts.n_times)
    # Regions are in arbitrary units: only exactly constant series are flat; no clipping test.
    problems = [Problem(source, m) for m in quality_problems(
        quality, flat_std=0.0, flat_ratio=1e-8, saturation_fraction=1.0, unit="region",
        flat=False)]
    info["flat"] = tuple(flat_channels(quality, flat_std=0.0, flat_ratio=1e-8))
    if info["flat"]:
        problems.append(_flat_problem(source, list(info["flat"]), spec, "region"))
    if ts.n_times < spec.min_timepoints:
        problems.append(Problem(source, f"{ts.n_times} time points, fewer than the required "
                                        f"{spec.min_timepoints}"))
    return info, problems


def _most_common(values):
    counts = Counter(v for v in values if v is not None)
    return counts.most_common(1)[0][0] if counts else None


def _check_eeg_consistency(rows: list[dict], spec: EEGSpec) -> tuple[list[Problem], list, float]:
    readable = [r for r in rows if r["channel_names"] is not None]
    problems = []
    if spec.channel_names is not None:
        reference = list(spec.channel_names)
    else:
        common = _most_common(frozenset(r["channel_names"]) for r in readable)
        reference = next((list(r["channel_names"]) for r in readable
                          if frozenset(r["channel_names"]) == common), None)
    for r in readable:
        names = set(r["channel_names"])
        if spec.n_channels is not None and len(names) != spec.n_channels:
            problems.append(Problem(r["source"], f"{len(names)} EEG channels, expected "
                                                 f"{spec.n_channels}"))
            continue
        if reference is None:
            continue
        missing = [c for c in reference if c not in names]
        extra = sorted(names - set(reference))
        if missing:
            problems.append(Problem(r["source"], f"{len(names)} EEG channels, missing "
                                    f"{len(missing)} of the cohort's {len(reference)}: "
                                    f"{', '.join(missing[:8])}" + (" ..." if len(missing) > 8 else "")))
        elif extra:
            problems.append(Problem(r["source"], f"{len(extra)} extra EEG channel(s) not in the "
                                    f"cohort's set will be dropped: {', '.join(extra[:8])}",
                                    "warning"))
    sfreq = spec.sfreq if spec.sfreq is not None else _most_common(r["sfreq"] for r in readable)
    for r in readable:
        if sfreq is not None and r["sfreq"] != sfreq:
            if spec.sfreq_policy == "refuse":
                problems.append(Problem(r["source"], f"sampling rate {r['sfreq']:g} Hz differs "
                                                     f"from the cohort's {sfreq:g} Hz"))
            else:
                problems.append(Problem(r["source"], f"sampling rate {r['sfreq']:g} Hz will be "
                                                     f"resampled to {sfreq:g} Hz", "warning"))
    return problems, reference, sfreq


def _check_region_consistency(rows: list[dict], spec: RegionSpec) -> tuple[list[Problem], int]:
    readable = [r for r in rows if r["channel_names"] is not None]
    n_regions = spec.n_regions or _most_common(len(r["channel_names"]) for r in readable)
    problems = [Problem(r["source"], f"{len(r['channel_names'])} regions, expected {n_regions}")
                for r in readable if len(r["channel_names"]) != n_regions]
    return problems, n_regions




@_verbose
def check_cohort(cohort: Cohort, spec: EEGSpec | RegionSpec | VolumeSpec | None = None, *,
                 n_jobs: int = 1, verbose=None) -> CohortCheck:
    """Check every recording of ``cohort`` and the cohort's consistency.

    Parameters
    ----------
    cohort : Cohort
    spec : EEGSpec | RegionSpec | VolumeSpec, optional
        Expectations; defaults to ``EEGSpec()``, ``RegionSpec()`` or
        ``VolumeSpec()`` by modality.
    n_jobs : int
        Files checked in parallel (joblib).
    verbose : bool | str | int | None
        Log level for this call (see :func:`neurodx.set_log_level`); a progress bar
        over files is drawn on a terminal unless the level is ERROR or above.

    Raises
    ------
    ConfigError
        If ``spec`` is not the kind the cohort's modality needs.
    """
    spec_type = _SPECS.get(cohort.modality)
    if spec_type is None:
        raise ConfigError(f"cannot check {cohort.modality!r} cohorts (known: "
                          f"{', '.join(_SPECS)})")
    spec = spec if spec is not None else spec_type()
    if not isinstance(spec, spec_type):
        raise ConfigError(f"{cohort.modality} cohorts are checked against "
                          f"{spec_type.__name__}, got {type(spec).__name__}")
    check_file = _CHECKS[cohort.modality]
    jobs = [(s, p, _source(cohort.root, s.participant_id, p)) for s in cohort for p in s.paths]
    results = list(progress(
        Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(check_file)(p, spec, src) for _, p, src in jobs),
        desc="checking files", total=len(jobs), unit="file", leave=False))
    rows, problems = [], list(cohort.problems)
    for (subject, path, src), (info, file_problems) in zip(jobs, results):
        rows.append({"participant_id": subject.participant_id, "group": subject.group,
                     "site": subject.site, "file": src.split(" ", 1)[1], "source": src, **info})
        problems += file_problems
    check = CohortCheck(cohort, pd.DataFrame(), problems)
    check.problems += _CONSISTENCY[cohort.modality](check, rows, spec)
    with_error = {p.source for p in check.problems if p.excludes_subject}
    for r in rows:
        r["error"] = r["source"] in with_error
    _MARKINGS.get(cohort.modality, lambda check, rows, spec: None)(check, rows, spec)
    if getattr(spec, "flat_policy", None) == "drop":
        _drop_flat(check, rows)
    check.recordings = pd.DataFrame(rows).drop(
        columns=["source", "channel_names", "flat", "bads", "bad_spans"], errors="ignore")
    return check


def _bad_annotations(check: CohortCheck, rows: list[dict]) -> None:
    for r in rows:
        spans = r.get("bad_spans")
        if spans is None or not len(spans):
            continue
        entry = check.bad_annotations.setdefault(
            r["participant_id"], {"spans": 0, "seconds": 0.0, "spans_at": {}})
        entry["spans"] += len(spans)
        entry["seconds"] += float(np.sum(spans[:, 1] - spans[:, 0]) / r["sfreq"])
        entry["spans_at"][r["file"]] = spans.tolist()


def _drop_bad_channels(check: CohortCheck, rows: list[dict]) -> None:
    """Remove every channel marked bad in a usable subject from the whole cohort.

    As for flat channels under ``flat_policy: drop``: one channel set for every
    subject, chosen from the recordings' own markings, never from a label.
    """
    unusable = {r["participant_id"] for r in rows if r["error"]}
    names = list(check.channel_names or [])
    marked = {c: sorted({r["participant_id"] for r in rows
                         if r["participant_id"] not in unusable and c in r["bads"]})
              for c in names}
    check.bads_dropped = {c: pids for c, pids in marked.items() if pids}
    check.channel_names = [c for c in names if c not in check.bads_dropped]
    if check.bads_dropped and len(check.channel_names) < 2:
        raise ConfigError(f"{check.cohort.root}: {len(check.bads_dropped)} of the cohort's "
                          f"{len(names)} channels are marked bad in some subject; excluding "
                          f"them leaves {len(check.channel_names)}. Set eeg.bad_channels to "
                          "interpolate or ignore")


def _drop_flat(check: CohortCheck, rows: list[dict]) -> None:
    """Remove every channel/region flat in a usable subject from the whole cohort.

    The cohort keeps one channel (region) set, so the routes see the same
    features for every subject. The choice reads each subject's own signal
    variance and never a label: like taking the cohort's channel set, it is
    not fitted, and so cannot leak test labels into training.
    """
    bad = {r["participant_id"] for r in rows if r["error"]}
    usable = [r for r in rows if r["participant_id"] not in bad and r["flat"]]
    kept, total, unit, section = _FLAT_DROP[check.cohort.modality](check, rows, bad, usable)
    if check.flat_dropped and kept < 2:
        raise ConfigError(f"{check.cohort.root}: {len(check.flat_dropped)} of the cohort's "
                          f"{total} {unit}s are flat in some subject; dropping them leaves "
                          f"{kept}. Set {section}.flat_policy "
                          "to skip_subject to leave those subjects out instead")


def _drop_flat_channels(check: CohortCheck, rows, bad, usable) -> tuple:
    names = list(check.channel_names or [])
    flat_in = {c: sorted({r["participant_id"] for r in usable if c in r["flat"]})
               for c in names}
    check.flat_dropped = {c: pids for c, pids in flat_in.items() if pids}
    check.channel_names = [c for c in names if c not in check.flat_dropped]
    return len(check.channel_names), len(names), "channel", "eeg"


def _drop_flat_regions(check: CohortCheck, rows, bad, usable) -> tuple:
    # Regions are matched by column position; names come from the cohort's most
    # common header (or region_NNN without one).
    same = [r for r in rows if r["participant_id"] not in bad
            and r["channel_names"] is not None and len(r["channel_names"]) == check.n_regions]
    names = list(_most_common(tuple(r["channel_names"]) for r in same) or ())
    flat_in = {}
    for r in usable:
        if len(r["channel_names"]) != check.n_regions:
            continue
        for name in r["flat"]:
            flat_in.setdefault(list(r["channel_names"]).index(name), set()).add(
                r["participant_id"])
    check.flat_dropped = {names[i]: sorted(flat_in[i]) for i in sorted(flat_in)}
    check.region_columns = ([i for i in range(check.n_regions or 0) if i not in flat_in]
                            if flat_in else None)
    return (check.n_regions or 0) - len(flat_in), check.n_regions or 0, "region", "regions"


def _eeg_consistency(check: CohortCheck, rows: list[dict], spec) -> list[Problem]:
    more, check.channel_names, check.sfreq = _check_eeg_consistency(rows, spec)
    return more


def _region_consistency(check: CohortCheck, rows: list[dict], spec) -> list[Problem]:
    more, check.n_regions = _check_region_consistency(rows, spec)
    return more


def _volume_consistency(check: CohortCheck, rows: list[dict], spec) -> list[Problem]:
    more, check.volume_shape = check_volume_consistency(rows, spec)
    return more


def _eeg_markings(check: CohortCheck, rows: list[dict], spec) -> None:
    """BAD_ annotations and channels marked bad in BIDS ``_channels.tsv`` files."""
    _bad_annotations(check, rows)
    if spec.bad_channels == "exclude":
        _drop_bad_channels(check, rows)


# Per modality: the expectations, the per-file check, the cohort-wide consistency
# check and the recordings' own markings. (io has its own tables: it comes before
# neurodx.study, whose Modality registry builds on these readers and checks.)
_SPECS = {"eeg": EEGSpec, "regions": RegionSpec, "volume": VolumeSpec}
_CHECKS = {"eeg": check_eeg_file, "regions": check_region_file, "volume": check_volume_file}
_CONSISTENCY = {"eeg": _eeg_consistency, "regions": _region_consistency,
                "volume": _volume_consistency}
_MARKINGS = {"eeg": _eeg_markings}
_FLAT_DROP = {"eeg": _drop_flat_channels, "regions": _drop_flat_regions}
