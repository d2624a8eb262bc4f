"""Human-readable summary of a checked cohort (what ``neurodx inspect`` prints)."""
from __future__ import annotations

import numpy as np

from .validation import CohortCheck

__all__ = ["format_check"]


def _range(values, fmt="{:g}") -> str:
    v = np.asarray([x for x in values if x == x], dtype=float)  # drop NaN (unreadable files)
    if v.size == 0:
        return "-"
    lo, med, hi = np.min(v), np.median(v), np.max(v)
    if lo == hi:
        return fmt.format(lo) + " (all)"
    return f"{fmt.format(lo)} .. {fmt.format(hi)} (median {fmt.format(med)})"


def format_check(check: CohortCheck, *, per_file: bool = True) -> str:
    """Text report: counts per group and site, recording properties, every problem."""
    cohort, rec = check.cohort, check.recordings
    lines = [f"Cohort {cohort.root}",
             f"  modality: {cohort.modality}; {len(cohort)} subjects with recordings, "
             f"{len(cohort.excluded)} excluded while loading; {len(rec)} files", "",
             "Subjects per group and site:"]
    lines += ["  " + ln for ln in cohort.counts().to_string().splitlines()]
    lines.append("")
    unit = "EEG channels" if cohort.modality == "eeg" else "regions"
    lines.append(f"  {unit}: {_range(rec['n_channels'])}")
    if cohort.modality == "eeg":
        lines.append(f"  sampling rate (Hz): {_range(rec['sfreq'])}")
        lines.append(f"  duration (s): {_range(rec['duration_s'], '{:.1f}')}")
        if check.channel_names:
            names = check.channel_names
            lines.append(f"  channel set used ({len(names)}): {', '.join(names[:12])}"
                         + (" ..." if len(names) > 12 else ""))
        if check.sfreq:
            lines.append(f"  sampling rate used: {check.sfreq:g} Hz")
    else:
        lines.append(f"  time points: {_range(rec['n_times'])}")
        if check.n_regions:
            lines.append(f"  region count used: {check.n_regions}")
    if per_file:
        lines += ["", "Recordings:"]
        table = rec.assign(site=rec["site"].fillna("-"), status=np.where(rec["error"], "ERROR", "ok"))
        cols = ["participant_id", "group", "site", "file", "n_channels", "sfreq", "duration_s",
                "status"] if cohort.modality == "eeg" else \
            ["participant_id", "group", "site", "file", "n_channels", "n_times", "status"]
        lines += ["  " + ln for ln in table[cols].to_string(
            index=False, na_rep="-", float_format=lambda x: f"{x:g}").splitlines()]
    errors = check.errors
    warnings_ = [p for p in check.problems if not p.is_error]
    lines += ["", f"Problems: {len(errors)} error(s), {len(warnings_)} warning(s)"]
    lines += [f"  {p}" for p in errors + warnings_]
    if errors:
        n_bad = len({p.source.split(" ")[0] for p in errors})
        lines.append(f"\nNOT READY: {len(errors)} error(s) affecting {n_bad} subject(s); fix or "
                     "remove them before running a study.")
    else:
        lines.append("\nREADY: no errors.")
    return "\n".join(lines)
