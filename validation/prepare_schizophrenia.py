"""Prepare the schizophrenia vs control EEG (four task phases) as a neurodx cohort.

Source: ``victorian177/AI-Driven-EEG-Schizophrenia-Diagnosis`` at a pinned commit:
``data/signal_data/<id>_<trial>_<phase>.csv`` (24 columns: 19 EEG of the 10-20
system, Pg1, Pg2, EOGR, EOGL, EMG; phases 1 rest, 2 arithmetic, 3 rest,
4 auditory), labels in ``data/Participant Data.csv``, sampling rate per trial in
``data/Participant Trial Data.csv`` (200 Hz, some trials 100 Hz).

What is done (recorded in ``provenance.json``):

* every phase file becomes one text EEG file with its own rate in its sidecar;
  a subject lists its files in ``participants.tsv`` and neurodx resamples them
  to the cohort's common rate (``eeg.sfreq_policy: resample``) and concatenates them;
* phase files with a dead EEG channel (standard deviation below 1 uV; in some
  trials Cz sits at -325 throughout) are left out;
* the first ``--trials`` trials (default 2) of each subject that have usable
  files, each phase cropped
  to the protocol's common length (5, 30, 5, 35 s), so every subject has about
  the same amount of data and duration does not leak the label; subjects with
  less than ``--min-seconds`` (default 75 s, one full trial) are left out;
* EOGR/EOGL are typed EOG and EMG as EMG; Pg1/Pg2 (pharyngeal leads) as MISC:
  the 19 scalp channels are the EEG;
* the signals are hard-clipped at +-325 (uV): a phase file with more than
  ``--max-clipped`` (default 0.5) of its EEG samples at the clip level is left
  out, and the clipped fraction per group is recorded (it may itself differ
  between groups).

    python validation/prepare_schizophrenia.py MIRROR_ROOT OUT_DIR
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _snapshot import Snapshot, find_git_dir, write_participants, write_provenance, \
    write_text_eeg  # noqa: E402

REPO = "victorian177/AI-Driven-EEG-Schizophrenia-Diagnosis"
COMMIT = "901c107caac67244929465394df8af84d337f470"
CLIP = 325.0
# A channel varying less than this (uV) is dead: in some trials Cz sits at the clip level
# throughout and Fz/Pz barely move (std below 1 uV against about 100 uV elsewhere).
DEAD_STD = 1.0
PHASE_SECONDS = {1: 5.0, 2: 30.0, 3: 5.0, 4: 35.0}
PHASE_NAMES = {1: "rest1", 2: "arithmetic", 3: "rest2", 4: "auditory"}
TYPES = {"Pg1": "MISC", "Pg2": "MISC", "EOGR": "EOG", "EOGL": "EOG", "EMG": "EMG"}
_FILE = re.compile(r"^(\d+)_(\d+)_(\d)\.csv$")


def _clean_name(column: str) -> str:
    # Headers look like "Fp1[1]"; the snapshot spells EOGL "EOOGL".
    name = re.sub(r"\[\d+\]$", "", column.strip())
    return {"EOOGL": "EOGL"}.get(name, name)


def prepare(git_dir: Path, out: Path, trials: int = 2, max_clipped: float = 0.5,
            limit: int | None = None, min_seconds: float = 75.0) -> dict:
    snap = Snapshot(git_dir, REPO, COMMIT)
    labels = snap.read_csv("data/Participant Data.csv", dtype=str)
    group_of = {r.id.strip(): {"Patient": "SZ", "Control": "HC"}[r.category.strip()]
                for r in labels.itertuples()}
    trial_table = snap.read_csv("data/Participant Trial Data.csv", dtype={"id_trial_phase": str})
    rate_of = dict(zip(trial_table["id_trial_phase"].str.strip(), trial_table["sample_frequency"]))
    files = {}
    for path in snap.list("data/signal_data"):
        m = _FILE.match(Path(path).name)
        if m:
            files.setdefault(m.group(1), {}).setdefault(int(m.group(2)), {})[int(m.group(3))] = path
    rows, skipped, clip_frac = [], [], {"SZ": [], "HC": []}
    rates, seconds_of = {}, {}
    ids = sorted(files, key=int)
    for sid in ids[:limit] if limit else ids:
        if sid not in group_of:
            skipped.append({"file": f"subject {sid}", "reason": "no label in Participant Data.csv"})
            continue
        group, pid = group_of[sid], f"sub-{int(sid):02d}"
        paths, total = [], 0.0
        used_trials = 0
        for trial in sorted(files[sid]):
            if used_trials == trials:
                break
            n_before = len(paths)
            for phase, src in sorted(files[sid][trial].items()):
                key = f"{sid}_{trial}_{phase}"
                sfreq = rate_of.get(key)
                if sfreq is None or not np.isfinite(sfreq):
                    skipped.append({"file": src, "reason": "no sampling rate in Participant "
                                                           "Trial Data.csv"})
                    continue
                try:
                    frame = snap.read_csv(src)
                except FileNotFoundError:
                    skipped.append({"file": src, "reason": "absent from the snapshot"})
                    continue
                names = [_clean_name(c) for c in frame.columns]
                data = frame.to_numpy(dtype=np.float64)
                data = data[: int(round(PHASE_SECONDS[phase] * sfreq))]
                types = [TYPES.get(n, "EEG") for n in names]
                eeg = data[:, [t == "EEG" for t in types]]
                frac = float((np.abs(eeg) >= CLIP).mean())
                clip_frac[group].append(frac)
                dead = [n for n, sd in zip([n for n, t in zip(names, types) if t == "EEG"],
                                           eeg.std(0)) if sd < DEAD_STD]
                if dead:
                    skipped.append({"file": src, "reason": f"dead EEG channel(s) {', '.join(dead)}"
                                                           f" (standard deviation < {DEAD_STD:g})"})
                    continue
                if frac > max_clipped:
                    skipped.append({"file": src, "reason": f"{frac:.0%} of EEG samples clipped "
                                                           f"at +-{CLIP:g}"})
                    continue
                stem = f"{pid}_task-{PHASE_NAMES[phase]}_run-{trial}"
                write_text_eeg(out / pid / "eeg", stem, data, names, types, sfreq,
                               PHASE_NAMES[phase])
                paths.append(f"{pid}/eeg/{stem}_eeg.csv")
                rates[float(sfreq)] = rates.get(float(sfreq), 0) + 1
                total += data.shape[0] / sfreq
            used_trials += len(paths) > n_before
        if total < min_seconds:
            skipped.append({"file": f"subject {sid}", "reason": f"{total:g} s of usable data, "
                                                                f"less than {min_seconds:g} s"})
            for p in paths:  # written above: remove them so the cohort holds only its subjects
                for f in (out / p).parent.glob(Path(p).name.replace("_eeg.csv", "_*")):
                    f.unlink()
            continue
        seconds_of.setdefault(group, []).append(total)
        rows.append({"participant_id": pid, "group": group, "path": ";".join(paths)})
    write_participants(out, rows, "Schizophrenia vs control EEG, four phases (prepared by neurodx)",
                       f"via https://github.com/{REPO}")
    counts = {g: sum(r["group"] == g for r in rows) for g in ("SZ", "HC")}
    record = {
        "name": "schizophrenia",
        "title": "EEG: schizophrenia vs control, rest / arithmetic / rest / auditory phases",
        **snap.record(), "subjects": counts,
        "labelled_without_signals": sorted(set(group_of) - set(files), key=int),
        "trials_per_subject": trials, "min_seconds": min_seconds, "phase_seconds": PHASE_SECONDS,
        "files_by_rate_hz": rates, "skipped": skipped,
        "seconds_per_subject": {g: {"mean": float(np.mean(v)), "min": float(np.min(v)),
                                    "max": float(np.max(v))} for g, v in seconds_of.items()},
        "clipped_fraction": {g: float(np.mean(v)) for g, v in clip_frac.items() if v},
        "quality_notes": [
            f"Signals are hard-clipped at +-{CLIP:g}: on average "
            + ", ".join(f"{g} {np.mean(v):.1%}" for g, v in clip_frac.items() if v)
            + f" of EEG samples. Phase files with more than {max_clipped:.0%} of their EEG "
              f"samples clipped were left out ({sum('clipped' in s['reason'] for s in skipped)}). "
              "Nearly every file has some channel clipped beyond neurodx's 1 % limit, so the "
              "run turns that check off (eeg.saturation_fraction=1.0): clipping remains in the "
              "data and could carry group information.",
            "Sampling rates of the files used: "
            + ", ".join(f"{n} files at {r:g} Hz" for r, n in sorted(rates.items()))
            + " (the snapshot mixes 100 and 200 Hz trials; neurodx resamples to the cohort's "
              "most common rate).",
            f"{sum('dead' in s['reason'] for s in skipped)} phase file(s) with a dead EEG channel "
            f"(standard deviation below {DEAD_STD:g} uV, e.g. Cz pinned at -325) were left out.",
            f"First {trials} usable trials per subject, phases cropped to "
            + "/".join(f"{s:g}" for s in PHASE_SECONDS.values())
            + " s, so recording time per subject is about equal across groups "
            + "(" + ", ".join(f"{g} mean {np.mean(v):.0f} s" for g, v in seconds_of.items()) + ").",
            "Phase files are concatenated per subject: windows may straddle a phase boundary.",
            "EOGR/EOGL (EOG), EMG (EMG) and Pg1/Pg2 (MISC) are not used as EEG.",
            "The label table lists more participants than have signals; only those with "
            "signals are in the cohort. A small cohort: a secondary check, not a headline.",
        ],
    }
    write_provenance(out, record)
    return record


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mirror", type=Path, help="mirror root holding victorian177+AI-Driven-EEG-"
                                              "Schizophrenia-Diagnosis/repo, or the git directory")
    ap.add_argument("out", type=Path, help="cohort folder to write")
    ap.add_argument("--trials", type=int, default=2, help="first N trials per subject")
    ap.add_argument("--max-clipped", type=float, default=0.5,
                    help="leave out phase files with a larger fraction of clipped EEG samples")
    ap.add_argument("--min-seconds", type=float, default=75.0,
                    help="leave out subjects with less usable data (default: one full trial)")
    ap.add_argument("--limit", type=int, default=None, help="first N subjects (smoke runs)")
    args = ap.parse_args(argv)
    rec = prepare(find_git_dir(args.mirror, REPO), args.out, args.trials, args.max_clipped,
                  args.limit, args.min_seconds)
    print(f"wrote {sum(rec['subjects'].values())} subjects ({rec['subjects']}) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
