"""Prepare the ADHD vs control children EEG (IEEE DataPort, Shahed University) as a neurodx cohort.

Source: ``matczu-97/EGG_CLASSIFIER_CNN`` at a pinned commit: ``adhd/v*.csv`` and
``control/v*.csv``, one row per sample at 128 Hz, 19 columns in the order
Fz, Cz, Pz, C3, T3, C4, T4, Fp1, Fp2, F3, F4, F7, F8, P3, P4, T5, T6, O1, O2
(visual attention task). The group is the folder (a ``p`` in a control file
name does not mean patient).

Data quality handled here: ADHD recordings are longer on average (the task ends
when the child has answered), so duration would leak the label; every subject is
cropped to the same length (``--seconds``, default 60 s, from the start; the
shortest recording lasts 62 s), and
shorter recordings are left out and listed. Values are integers (quantised
microvolts, as exported).

    python validation/prepare_adhd.py MIRROR_ROOT OUT_DIR
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _snapshot import Snapshot, find_git_dir, write_participants, write_provenance, \
    write_text_eeg  # noqa: E402

REPO = "matczu-97/EGG_CLASSIFIER_CNN"
COMMIT = "8ef4784159c5c4b5d89f670e1991f88ea934d6a9"
SFREQ = 128.0
CHANNELS = ["Fz", "Cz", "Pz", "C3", "T3", "C4", "T4", "Fp1", "Fp2", "F3", "F4", "F7", "F8",
            "P3", "P4", "T5", "T6", "O1", "O2"]
GROUPS = {"adhd": "ADHD", "control": "Control"}


def prepare(git_dir: Path, out: Path, seconds: float = 60.0, limit: int | None = None) -> dict:
    snap = Snapshot(git_dir, REPO, COMMIT)
    n_keep = int(round(seconds * SFREQ))
    rows, lengths, skipped, clipped = [], {g: [] for g in GROUPS.values()}, [], {}
    for folder, group in GROUPS.items():
        files = [f for f in snap.list(folder) if f.lower().endswith(".csv")]
        for path in files[:limit]:
            name = Path(path).stem
            try:
                frame = snap.read_csv(path)
            except FileNotFoundError:
                skipped.append({"file": path, "reason": "absent from the snapshot"})
                continue
            if frame.shape[1] != len(CHANNELS):
                skipped.append({"file": path, "reason": f"{frame.shape[1]} columns, expected 19"})
                continue
            data = frame.to_numpy(dtype=np.float64)
            lengths[group].append(data.shape[0] / SFREQ)
            if data.shape[0] < n_keep:
                skipped.append({"file": path, "reason": f"{data.shape[0] / SFREQ:.1f} s, shorter "
                                                        f"than the common {seconds:g} s"})
                continue
            data = data[:n_keep]
            # Samples at a channel's own extreme values: a sign of amplifier clipping.
            at_ext = ((data == data.max(0)) | (data == data.min(0))).mean(0)
            clipped[name] = float(at_ext.max())
            pid = f"sub-{folder}{name}"
            rel = Path(pid) / "eeg"
            write_text_eeg(out / rel, f"{pid}_task-attention", data, CHANNELS,
                           ["EEG"] * len(CHANNELS), SFREQ, "attention")
            rows.append({"participant_id": pid, "group": group, "source_file": path,
                         "path": str(rel / f"{pid}_task-attention_eeg.csv")})
    write_participants(out, rows, "ADHD vs control children EEG (prepared by neurodx)",
                       f"IEEE DataPort ADHD/control children EEG via https://github.com/{REPO}")
    counts = {g: sum(r["group"] == g for r in rows) for g in GROUPS.values()}
    record = {
        "name": "adhd", "title": "EEG: ADHD vs control children (visual attention task)",
        **snap.record(), "files_read": sum(len(v) for v in lengths.values()),
        "subjects": counts, "sfreq_hz": SFREQ, "channels": CHANNELS,
        "crop_seconds": seconds, "skipped": skipped,
        "duration_before_crop_s": {g: {"mean": float(np.mean(v)), "min": float(np.min(v)),
                                       "max": float(np.max(v))} for g, v in lengths.items() if v},
        "quality_notes": [
            f"Recording length depends on the child's responses: mean "
            + ", ".join(f"{g} {np.mean(v):.0f} s" for g, v in lengths.items() if v)
            + f" before cropping. Every subject was cropped to its first {seconds:g} s so "
              "duration cannot leak the label; shorter recordings were left out "
              f"({sum('shorter' in s['reason'] for s in skipped)} file(s)).",
            "Values are integers (quantised); taken as microvolts, as exported.",
            "adhd/v244.csv is absent from the snapshot (too large) and adhd/v14p.xlsx is a "
            "duplicate: neither is used.",
            f"Largest fraction of samples at a channel's extreme value: median "
            f"{np.median(list(clipped.values())):.4f}, max {max(clipped.values()):.4f} "
            "(no cropping or exclusion for clipping).",
        ],
    }
    write_provenance(out, record)
    return record


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mirror", type=Path, help="mirror root holding matczu-97+EGG_CLASSIFIER_CNN"
                                              "/repo, or the snapshot's git directory")
    ap.add_argument("out", type=Path, help="cohort folder to write")
    ap.add_argument("--seconds", type=float, default=60.0, help="common length (s)")
    ap.add_argument("--limit", type=int, default=None, help="first N files per group (smoke runs)")
    args = ap.parse_args(argv)
    rec = prepare(find_git_dir(args.mirror, REPO), args.out, args.seconds, args.limit)
    print(f"wrote {sum(rec['subjects'].values())} subjects ({rec['subjects']}) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
