"""The ``neurodx`` command.

Errors caused by input (a bad file, an inconsistent cohort, a wrong option) are
printed as one line and the command exits non-zero; ``--debug`` shows the
traceback. Output never contains anything but subject IDs and file names.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .errors import NeurodxError

EXIT_PROBLEMS = 1  # the command ran and found problems (e.g. inspect found errors)
EXIT_ERROR = 2     # the command could not run (bad input or options)


def _cmd_simulate_eeg(args) -> int:
    from .simulate import simulate_eeg_cohort

    out = simulate_eeg_cohort(args.out, args.groups, args.subjects_per_group,
                              channels=args.channels, sfreq=args.sfreq, duration=args.duration,
                              seed=args.seed, sites=args.sites, effect_size=args.effect_size,
                              n_jobs=args.jobs)
    n = len(args.groups) * args.subjects_per_group
    print(f"wrote a SYNTHETIC EEG cohort of {n} subjects to {out} "
          f"({args.channels} channels, {args.sfreq:g} Hz, {args.duration:g} s each)")
    return 0


def _cmd_simulate_regions(args) -> int:
    from .simulate import simulate_region_cohort

    out = simulate_region_cohort(args.out, args.groups, args.subjects_per_group,
                                 n_regions=args.regions, n_times=args.timepoints,
                                 sites=args.sites, effect_size=args.effect_size, seed=args.seed)
    print(f"wrote a SYNTHETIC region time-series cohort of "
          f"{len(args.groups) * args.subjects_per_group} subjects to {out} "
          f"({args.regions} regions x {args.timepoints} time points each)")
    return 0


def _specs(args):
    from .io import EEGSpec, RegionSpec

    eeg = EEGSpec(n_channels=args.channels, exclude=args.exclude_channels, sfreq=args.sfreq,
                  sfreq_policy=args.sfreq_policy, min_duration=args.min_duration)
    regions = RegionSpec(n_regions=args.regions, min_timepoints=args.min_timepoints)
    return eeg, regions


def _cmd_inspect(args) -> int:
    from .io import check_cohort, format_check, load_cohort

    cohort = load_cohort(args.cohort, groups=args.groups, modality=args.modality,
                         group_column=args.group_column)
    eeg_spec, region_spec = _specs(args)
    spec = eeg_spec if cohort.modality == "eeg" else region_spec
    check = check_cohort(cohort, spec, n_jobs=args.jobs)
    print(format_check(check, per_file=not args.summary))
    return EXIT_PROBLEMS if check.has_errors else 0


def _cmd_compare(args) -> int:
    from .config import load_config
    from .evaluation.compare import run_comparison

    overrides = {}
    if args.cohort is not None:
        overrides["cohort"] = {"path": str(args.cohort.expanduser().resolve())}
    if args.skip_bad:
        overrides.setdefault("cohort", {})["skip_bad"] = True
    if args.seed is not None:
        overrides["seed"] = args.seed
    config = load_config(args.config, overrides=overrides)
    out = args.out or Path("runs") / (config["study"] or args.config.stem)
    result = run_comparison(config, out, n_jobs=args.jobs, routes=args.routes,
                            argv=["neurodx", *sys.argv[1:]])
    m = result.metrics
    label = " (SYNTHETIC data)" if m["synthetic_data"] else ""
    print(f"{m['study'] or args.config.stem}{label}: {m['n_subjects']} subjects, "
          f"{m['cv']['n_folds_total']} subject-level splits")
    for name, r in m["routes"].items():
        lo, hi = r["ci"]["balanced_accuracy"]
        print(f"  {name:<22} balanced accuracy {100 * r['balanced_accuracy']:5.1f}% "
              f"[{100 * lo:.1f}, {100 * hi:.1f}]  {r['per_class_text']}")
    print(f"report: {result.report}")
    return 0


def _add_cohort_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("cohort")
    g.add_argument("--groups", nargs="+", metavar="LABEL",
                   help="allowed group labels (others are reported); default: all found")
    g.add_argument("--group-column", default="group",
                   help="participants.tsv column holding the label (default: group)")
    g.add_argument("--modality", choices=["eeg", "regions", "volume"],
                   help="expected recording kind (default: inferred from file formats)")
    e = p.add_argument_group("EEG expectations")
    e.add_argument("--channels", type=int, metavar="N",
                   help="required EEG channel count (default: the cohort's most common set)")
    e.add_argument("--exclude-channels", nargs="+", default=(), metavar="NAME",
                   help="channels to drop besides auto-typed EOG/ECG/EMG/status (e.g. M1 M2)")
    e.add_argument("--sfreq", type=float, metavar="HZ",
                   help="sampling rate used (default: the cohort's most common)")
    e.add_argument("--sfreq-policy", choices=["resample", "refuse"], default="resample",
                   help="recordings at another rate are resampled (default) or refused")
    e.add_argument("--min-duration", type=float, default=0.0, metavar="S",
                   help="shortest usable recording in seconds")
    r = p.add_argument_group("region time-series expectations")
    r.add_argument("--regions", type=int, metavar="N", help="required region count")
    r.add_argument("--min-timepoints", type=int, default=20, metavar="N",
                   help="shortest usable series (default 20)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurodx",
        description="Classify patients from brain recordings: RMT and CNN routes compared "
                    "under subject-level cross-validation.")
    parser.add_argument("--version", action="version", version=f"neurodx {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = sub.add_parser("simulate", help="write a SYNTHETIC cohort")
    sim_sub = sim.add_subparsers(dest="kind", required=True, metavar="KIND")
    eeg = sim_sub.add_parser("eeg", help="resting-state EEG as EDF files + participants.tsv")
    eeg.add_argument("--out", required=True, type=Path, help="cohort folder to write")
    eeg.add_argument("--groups", nargs="+", default=["HC", "FES", "CHR"], metavar="LABEL")
    eeg.add_argument("--subjects-per-group", type=int, default=10, metavar="N")
    eeg.add_argument("--channels", type=int, default=64, metavar="N",
                     help="16, 32, 64, 128, 160 or 256 (BioSemi 10-10 layouts)")
    eeg.add_argument("--sfreq", type=float, default=1000.0, metavar="HZ")
    eeg.add_argument("--duration", type=float, default=300.0, metavar="S")
    eeg.add_argument("--sites", type=int, default=1, metavar="N")
    eeg.add_argument("--effect-size", type=float, default=1.0, metavar="X",
                     help="scales the group differences; 0 gives a null cohort")
    eeg.add_argument("--seed", type=int, default=0)
    eeg.add_argument("--jobs", type=int, default=1, metavar="N")
    eeg.set_defaults(func=_cmd_simulate_eeg)
    reg = sim_sub.add_parser("regions", help="fMRI region time series as .tsv + participants.tsv")
    reg.add_argument("--out", required=True, type=Path, help="cohort folder to write")
    reg.add_argument("--groups", nargs="+", default=["HC", "SZ"], metavar="LABEL")
    reg.add_argument("--subjects-per-group", type=int, default=10, metavar="N")
    reg.add_argument("--regions", type=int, default=30, metavar="N")
    reg.add_argument("--timepoints", type=int, default=200, metavar="N")
    reg.add_argument("--sites", type=int, default=1, metavar="N")
    reg.add_argument("--effect-size", type=float, default=1.0, metavar="X")
    reg.add_argument("--seed", type=int, default=0)
    reg.set_defaults(func=_cmd_simulate_regions)

    ins = sub.add_parser("inspect", help="summarise a cohort and list every problem "
                                         "(exit 1 when a problem would stop a study)")
    ins.add_argument("cohort", type=Path, help="folder with participants.tsv")
    ins.add_argument("--summary", action="store_true", help="omit the per-file table")
    ins.add_argument("--jobs", type=int, default=1, metavar="N", help="files checked in parallel")
    _add_cohort_options(ins)
    ins.set_defaults(func=_cmd_inspect)

    cmp_ = sub.add_parser("compare", help="run a study's routes on identical subject-level "
                                          "folds and write report.html, metrics, predictions")
    cmp_.add_argument("config", type=Path, help="YAML config (see configs/)")
    cmp_.add_argument("--cohort", type=Path, metavar="DIR",
                      help="run on this cohort instead of the config's")
    cmp_.add_argument("--out", type=Path, metavar="RUN_DIR",
                      help="run folder (default: runs/<study>)")
    cmp_.add_argument("--routes", nargs="+", metavar="NAME", help="run only these routes")
    cmp_.add_argument("--skip-bad", action="store_true",
                      help="run on usable subjects, listing the others, instead of refusing")
    cmp_.add_argument("--seed", type=int, help="override the config's seed")
    cmp_.add_argument("--jobs", type=int, default=1, metavar="N",
                      help="subjects loaded and featurised in parallel")
    cmp_.set_defaults(func=_cmd_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from ._logging import set_log_level

    set_log_level("DEBUG" if args.debug else "WARNING")
    try:
        return args.func(args)
    except (NeurodxError, NotImplementedError, ValueError, FileNotFoundError) as err:
        if args.debug:
            raise
        kind = "not implemented" if isinstance(err, NotImplementedError) else "error"
        print(f"neurodx: {kind}: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("neurodx: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
