"""Human-readable summary of a checked cohort (what ``neurodx inspect`` prints)."""
from __future__ import annotations

from collections import Counter

import numpy as np

from .validation import CohortCheck

__all__ = ["format_check", "format_flat_dropped"]


def format_flat_dropped(flat_dropped: dict, unit: str) -> str:
    """One line for the channels/regions removed under ``flat_policy: drop``.

    ``{"Fz": ["sub-01"], "Cz": ["sub-01", "sub-07"]}`` becomes
    ``"2 channel(s) dropped for being flat in 2 subject(s): Fz (sub-01), Cz (sub-01, sub-07)"``.
    """
    subjects = {pid for pids in flat_dropped.values() for pid in pids}
    listed = ", ".join(f"{name} ({', '.join(pids)})" for name, pids in flat_dropped.items())
    return (f"{len(flat_dropped)} {unit}(s) dropped for being flat in {len(subjects)} "
            f"subject(s): {listed}")


def _range(values, fmt="{:g}") -> str:
    v = np.asarray([x for x in values if x == x], dtype=float)  # drop NaN (unreadable files)
    if v.size == 0:
        return "-"
    lo, med, hi = np.min(v), np.median(v), np.max(v)
    if lo == hi:
        return fmt.format(lo) + " (all)"
    return f"{fmt.format(lo)} .. {fmt.format(hi)} (median {fmt.format(med)})"


def _sizes(values) -> str | None:
    """``(64, 64, 31)`` -> ``"64x64x31"``; None for unreadable files."""
    if values is None or (isinstance(values, float) and values != values):
        return None
    return "x".join(f"{v:g}" for v in values)


def _counts(values) -> str:
    """Distinct values with their file counts, most common first: ``"RAS (7), LPS (1)"``."""
    counts = Counter(v for v in values if v is not None and v == v)
    if not counts:
        return "-"
    if len(counts) == 1:
        return f"{next(iter(counts))} (all)"
    return ", ".join(f"{v} ({n})" for v, n in counts.most_common())


def _value_range(rec) -> tuple[str, str]:
    """Label and text of the cohort's intensity range; in HU when every file is DICOM CT."""
    units = set(rec["units"])
    label = "HU range" if units == {"HU"} else \
        "display range (PNG/JPEG, not HU)" if units == {"display"} else "value range"
    lo, hi = rec["min"].astype(float).dropna(), rec["max"].astype(float).dropna()
    return label, f"{lo.min():g} .. {hi.max():g}" if len(lo) else "-"


def _volume_summary(check: CohortCheck) -> list[str]:
    rec = check.recordings
    lines = [f"  formats: {_counts(rec['format'])}",
             f"  shape (as stored): {_counts(_sizes(s) for s in rec['shape'])}",
             f"  voxel size (mm): {_counts(_sizes(z) for z in rec['zooms'])}",
             f"  frames: {_range(rec['n_frames'])}"]
    if (rec["n_frames"] > 1).any():
        lines.append(f"  repetition time (s): {_range(rec['tr'].astype(float))}")
    lines.append(f"  orientation: {_counts(rec['orientation'])}")
    label, text = _value_range(rec)
    lines.append(f"  {label}: {text}")
    if check.volume_shape:
        lines.append(f"  reference shape (RAS order, as sliced): {_sizes(check.volume_shape)}")
    return lines


def _volume_table(rec):
    def value_range(row):
        return "-" if row["min"] != row["min"] else f"{row['min']:g} .. {row['max']:g}" + \
            (" HU" if row["units"] == "HU" else "")

    return rec.assign(shape=[_sizes(s) for s in rec["shape"]],
                      spacing=[_sizes(z) for z in rec["zooms"]],
                      frames=rec["n_frames"], range=rec.apply(value_range, axis=1))


def _eeg_summary(check: CohortCheck) -> list[str]:
    rec = check.recordings
    lines = [f"  EEG channels: {_range(rec['n_channels'])}",
             f"  sampling rate (Hz): {_range(rec['sfreq'])}",
             f"  duration (s): {_range(rec['duration_s'], '{:.1f}')}"]
    if check.flat_dropped:
        lines.append("  " + format_flat_dropped(check.flat_dropped, "channel"))
    if check.bads_dropped:
        listed = ", ".join(f"{c} ({', '.join(p)})" for c, p in check.bads_dropped.items())
        lines.append(f"  {len(check.bads_dropped)} channel(s) marked bad, excluded from "
                     f"every subject (eeg.bad_channels: exclude): {listed}")
    if check.bad_annotations:
        secs = sum(e["seconds"] for e in check.bad_annotations.values())
        lines.append(f"  BAD_ annotated spans in {len(check.bad_annotations)} subject(s), "
                     f"{secs:.1f} s in all: windows touching them are skipped")
    if check.channel_names:
        names = check.channel_names
        lines.append(f"  channel set used ({len(names)}): {', '.join(names[:12])}"
                     + (" ..." if len(names) > 12 else ""))
    if check.sfreq:
        lines.append(f"  sampling rate used: {check.sfreq:g} Hz")
    return lines


def _region_summary(check: CohortCheck) -> list[str]:
    rec = check.recordings
    lines = [f"  regions: {_range(rec['n_channels'])}",
             f"  time points: {_range(rec['n_times'])}"]
    if check.flat_dropped:
        lines.append("  " + format_flat_dropped(check.flat_dropped, "region"))
    if check.n_regions:
        used = check.n_regions - len(check.flat_dropped)
        lines.append(f"  region count used: {used}" + (
            f" of {check.n_regions}" if check.flat_dropped else ""))
    return lines


def format_check(check: CohortCheck, *, per_file: bool = True) -> str:
    """Text report: counts per group and site, recording properties, every problem."""
    cohort, rec = check.cohort, check.recordings
    lines = [f"Cohort {cohort.root}",
             f"  modality: {cohort.modality}; {len(cohort)} subjects with recordings, "
             f"{len(cohort.excluded)} excluded while loading; {len(rec)} files", "",
             "Subjects per group and site:"]
    lines += ["  " + ln for ln in cohort.counts().to_string().splitlines()]
    lines.append("")
    lines += _SUMMARIES[cohort.modality](check)
    if per_file:
        lines += ["", "Recordings:"]
        # A file only left out by flat_policy: skip_subject is "skipped", not an error.
        only_skipped = {p.source for p in check.skipped} - {p.source for p in check.errors}
        status = ["ok" if not bad else "skipped" if f"{pid} {f}" in only_skipped else "ERROR"
                  for pid, f, bad in zip(rec["participant_id"], rec["file"], rec["error"])]
        table = rec.assign(site=rec["site"].fillna("-"), status=status)
        cols = _COLUMNS[cohort.modality]
        table = _TABLES.get(cohort.modality, lambda t: t)(table)
        lines += ["  " + ln for ln in table[cols].to_string(
            index=False, na_rep="-", float_format=lambda x: f"{x:g}").splitlines()]
    errors, skipped = check.errors, check.skipped
    warnings_ = [p for p in check.problems if p.severity == "warning"]
    lines += ["", f"Problems: {len(errors)} error(s), "
                  + (f"{len(skipped)} skipped by policy, " if skipped else "")
                  + f"{len(warnings_)} warning(s)"]
    lines += [f"  {p}" for p in errors + skipped + warnings_]
    if errors:
        n_bad = len({p.source.split(" ")[0] for p in errors})
        lines.append(f"\nNOT READY: {len(errors)} error(s) affecting {n_bad} subject(s); fix or "
                     "remove them before running a study.")
    else:
        n_skip = len({p.source.split(" ")[0] for p in skipped})
        lines.append("\nREADY: no errors." + (f" {n_skip} subject(s) will be left out (listed "
                                               "above)." if n_skip else ""))
    return "\n".join(lines)


# What the report shows of each modality (io has its own tables: it comes before
# neurodx.study and does not import it).
_SUMMARIES = {"eeg": _eeg_summary, "regions": _region_summary, "volume": _volume_summary}
_COLUMNS = {"eeg": ["participant_id", "group", "site", "file", "n_channels", "sfreq",
                    "duration_s", "status"],
            "regions": ["participant_id", "group", "site", "file", "n_channels", "n_times",
                        "status"],
            "volume": ["participant_id", "group", "site", "file", "format", "shape",
                       "spacing", "frames", "orientation", "range", "status"]}
_TABLES = {"volume": _volume_table}
