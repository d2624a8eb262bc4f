"""The ``neurodx`` command.

Errors caused by input (a bad file, an inconsistent cohort, a wrong option) are
printed as one line and the command exits non-zero; ``--debug`` shows the
traceback. Output never contains anything but subject IDs and file names.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from . import __version__
from .errors import NeurodxError

EXIT_PROBLEMS = 1  # the command ran and some inputs failed (each one listed)
EXIT_ERROR = 2     # the command could not start or broke (one line; --debug: traceback)


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


def _command_line(args) -> str:
    """The ``neurodx simulate`` command reproducing ``args``, every option spelled out.

    ``--jobs`` and the verbosity flags are left out: simulated files do not depend on them.
    """
    words = ["neurodx", "simulate", args.kind]
    for action in args.kind_parser._actions:
        value = getattr(args, action.dest, None)
        if not action.option_strings or value is None or value is False \
                or action.dest in ("jobs", "verbose", "quiet"):
            continue
        words.append(action.option_strings[0])
        if action.nargs != 0:   # flags (store_true) carry no value
            values = value if isinstance(value, (list, tuple)) else [value]
            words += [f"{v:g}" if isinstance(v, float) else str(v) for v in values]
    return shlex.join(words)


def _add_command_to_readme(out: Path, args) -> None:
    """Append the command line to the README the simulator wrote (it gives a Python call)."""
    from ._atomic import atomic_write_text

    readme = Path(out) / "README.md"
    mode = readme.stat().st_mode & 0o7777   # the temporary file of an atomic write is 0600
    atomic_write_text(readme, readme.read_text(encoding="utf-8")
                      + "\nor, as it was written, with the command line (from the same "
                        f"directory):\n\n    {_command_line(args)}\n")
    readme.chmod(mode)


def _cmd_simulate_fmri(args) -> int:
    from .simulate import simulate_fmri_cohort

    out = simulate_fmri_cohort(args.out, args.groups, args.subjects_per_group,
                               shape=args.shape, frames=args.frames, tr=args.tr,
                               voxel_size=args.voxel_size, seed=args.seed,
                               effect_size=args.effect_size, noise=args.noise,
                               striatal_amplitude=args.striatal_amplitude,
                               coupling=args.coupling, lesion_rate=args.lesion_rate,
                               n_networks=args.networks, background_noise=args.background_noise,
                               quantum=args.quantum, n_jobs=args.jobs)
    _add_command_to_readme(out, args)
    print(f"wrote a SYNTHETIC fMRI cohort of {len(args.groups) * args.subjects_per_group} "
          f"subjects to {out} ({', '.join(args.groups)}; 4-D NIfTI of "
          f"{'x'.join(map(str, args.shape))} voxels x {args.frames} frames, TR {args.tr:g} s)")
    return 0


def _lesion_types(entries) -> dict | None:
    from .errors import ConfigError

    if not entries:
        return None
    bad = [e for e in entries if e.count("=") != 1]
    if bad:
        raise ConfigError(f"--lesions takes LABEL=TYPE pairs (e.g. stroke=infarct), got "
                          f"{' '.join(bad)}")
    return dict(e.split("=") for e in entries)


def _cmd_simulate_ct(args) -> int:
    from .simulate import simulate_ct_cohort

    out = simulate_ct_cohort(args.out, args.groups, args.subjects_per_group, fmt=args.format,
                             shape=args.shape, fov=args.fov,
                             slice_thickness=args.slice_thickness, seed=args.seed,
                             effect_size=args.effect_size,
                             subdural_fraction=args.subdural_fraction,
                             lesions=_lesion_types(args.lesions), n_jobs=args.jobs)
    _add_command_to_readme(out, args)
    stored = {"dicom": "DICOM series in HU", "nifti": "NIfTI in HU",
              "png": "8-bit PNG slices, brain window, not HU"}[args.format]
    rows, cols, n_slices = args.shape
    print(f"wrote a SYNTHETIC head CT cohort of {len(args.groups) * args.subjects_per_group} "
          f"subjects to {out} ({', '.join(args.groups)}; {rows}x{cols} pixels x {n_slices} "
          f"slices, {stored})")
    return 0


def _specs(args) -> dict:
    """Expectations per modality, from the cohort options."""
    from .io import EEGSpec, RegionSpec, VolumeSpec

    eeg = EEGSpec(n_channels=args.channels, exclude=args.exclude_channels, sfreq=args.sfreq,
                  sfreq_policy=args.sfreq_policy, min_duration=args.min_duration,
                  flat_policy=args.flat_policy, bad_channels=args.bad_channels)
    regions = RegionSpec(n_regions=args.regions, min_timepoints=args.min_timepoints,
                         flat_policy=args.flat_policy)
    volume = VolumeSpec(require_4d=args.require_4d, min_frames=args.min_frames,
                        expected_shape=tuple(args.expected_shape) if args.expected_shape
                        else None, shape_policy=args.shape_policy, series=args.series)
    return {"eeg": eeg, "regions": regions, "volume": volume}


def _cmd_inspect(args) -> int:
    from .io import check_cohort, format_check, load_cohort

    cohort = load_cohort(args.cohort, groups=args.groups, modality=args.modality,
                         group_column=args.group_column, allow_outside=args.allow_outside)
    check = check_cohort(cohort, _specs(args)[cohort.modality], n_jobs=args.jobs)
    print(format_check(check, per_file=not args.summary))
    return EXIT_PROBLEMS if check.has_errors else 0


def _study_config(args):
    """The config of a command: the file (built-in defaults without one), then --set,
    --cohort and, where the command has them, --skip-bad and --seed."""
    from .config import load_config, parse_assignments

    overrides = parse_assignments(args.set)
    atlas = overrides.get("volume", {}).get("atlas") if isinstance(overrides.get("volume"),
                                                                    dict) else None
    if isinstance(atlas, str):   # a path typed on the command line is relative to the cwd
        overrides["volume"]["atlas"] = str(Path(atlas).expanduser().resolve())
    if args.cohort is not None:
        overrides.setdefault("cohort", {})["path"] = str(args.cohort.expanduser().resolve())
    if getattr(args, "skip_bad", False):
        overrides.setdefault("cohort", {})["skip_bad"] = True
    if getattr(args, "allow_outside", False):
        overrides.setdefault("cohort", {})["allow_outside"] = True
    if getattr(args, "seed", None) is not None:
        overrides["seed"] = args.seed
    allow_code = getattr(args, "allow_code", False)
    if args.config is None:
        return load_config(text="{}", overrides=overrides, allow_code=allow_code)
    return load_config(args.config, overrides=overrides, allow_code=allow_code)


def _cmd_compare(args) -> int:
    from .evaluation.compare import run_comparison

    from ._outputs import check_output_dir

    config = _study_config(args)
    out = check_output_dir(args.out or Path("runs") / (config.study_name or args.config.stem))
    result = run_comparison(config, out, n_jobs=args.jobs, routes=args.routes,
                            argv=["neurodx", *sys.argv[1:]])
    m = result.metrics
    label = " (SYNTHETIC data)" if m["synthetic_data"] else ""
    print(f"{m['study'] or args.config.stem}{label}: {m['n_subjects']} subjects, "
          f"{m['cv']['n_folds_total']} subject-level splits")
    if m["flat_dropped"]:
        from .io import format_flat_dropped

        unit = "channel" if result.manifest["channel_names"] else "region"
        print("  " + format_flat_dropped(m["flat_dropped"], unit))
    for name, r in m["routes"].items():
        lo, hi = r["ci"]["balanced_accuracy"]
        print(f"  {name:<22} balanced accuracy {100 * r['balanced_accuracy']:5.1f}% "
              f"[{100 * lo:.1f}, {100 * hi:.1f}]  {r['per_class_text']}")
    print(f"report: {result.report}")
    return 0


def _cmd_train(args) -> int:
    from ._outputs import check_output_dir
    from .bundles import read_key, train_route

    check_output_dir(args.out)           # before the training, not after
    key = read_key(args.sign_key_file, option="--sign-key-file")
    config = _study_config(args)
    bundle = train_route(config, args.route, args.out, n_jobs=args.jobs,
                         argv=["neurodx", *sys.argv[1:]], sign_key=key)
    t = bundle.manifest["training"]
    label = " (SYNTHETIC data)" if t["synthetic_data"] else ""
    print(f"trained route {args.route} of {config['study'] or args.config.stem} on "
          f"{t['n_subjects']} subjects{label} "
          f"({', '.join(f'{c} {n}' for c, n in t['subjects_per_class'].items())})")
    print(f"bundle: {args.out} (model id {bundle.model_id}"
          + (", signed" if key is not None else "") + ")")
    return 0


def _cmd_score(args) -> int:
    from .bundles import read_key
    from .scoring import score_inputs

    result = score_inputs(args.model, args.inputs, args.out, n_jobs=args.jobs,
                          scheduler=args.scheduler, progress=not args.no_progress,
                          key=read_key(args.key_file),
                          expect_model_id=args.expect_model_id,
                          allow_outside=args.allow_outside)
    print(f"scored {result.n_inputs} input(s) with model {result.model_id}: {result.n_ok} ok, "
          f"{result.n_error} error(s) ({result.n_scored} scored now, {result.n_from_journal} "
          f"from {result.journal.name})")
    print(f"scores: {result.out}")
    return EXIT_PROBLEMS if result.n_error else 0


def _cmd_config_schema(args) -> int:
    from .config import schema_text, write_config_schema

    if args.out is None:
        sys.stdout.write(schema_text())
        return 0
    print(f"wrote the config JSON Schema to {write_config_schema(args.out)}")
    return 0


def _cmd_features(args) -> int:
    from .errors import ConfigError
    from .features import (check_output_path, extract_features, write_bids_derivatives,
                           write_features)

    from ._outputs import check_output_file

    if args.out is None and args.bids_derivatives is None:
        raise ConfigError("give --out FEATURES (a table) and/or --bids-derivatives BIDS_ROOT")
    if args.out is not None:
        check_output_path(args.out)          # before minutes of work, not after
        check_output_file(args.out)
    config = _study_config(args)
    result = extract_features(config, covariance=args.covariance, n_jobs=args.jobs)
    n_features = result.table.shape[1] - 3
    if args.out is not None:
        out = write_features(result.table, args.out)
        print(f"wrote {len(result.table)} subjects x {n_features} features to {out}")
    if args.bids_derivatives is not None:
        deriv = write_bids_derivatives(result, args.bids_derivatives)
        print(f"wrote {len(result.table)} subjects x {n_features} features as BIDS "
              f"derivatives to {deriv}")
    ref = result.reference
    print(f"LES features use one MP reference fitted on these {ref['n_subjects']} subjects "
          "(effective samples per window: "
          + ", ".join(f"{band} {n:.1f}" for band, n in ref["n_eff"].items()) + ")")
    if result.failures:
        print(f"{len(result.failures)} subject(s) left out:", file=sys.stderr)
        for problem in result.failures:
            print(f"  {problem}", file=sys.stderr)
        # Subjects left out by flat_policy: skip_subject were the user's choice, not a failure.
        return EXIT_PROBLEMS if any(p.is_error for p in result.failures) else 0
    return 0


def _add_allow_outside(p) -> None:
    p.add_argument("--allow-outside", action="store_true",
                   help="let participants.tsv paths lead outside the cohort folder (refused "
                        "by default; config: cohort.allow_outside)")


def _add_cohort_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("cohort")
    _add_allow_outside(g)
    g.add_argument("--groups", nargs="+", metavar="LABEL",
                   help="allowed group labels (others are reported); default: all found")
    g.add_argument("--group-column", default="group",
                   help="participants.tsv column holding the label (default: group)")
    g.add_argument("--modality", choices=["eeg", "regions", "volume"],
                   help="expected recording kind (default: inferred from file formats)")
    g.add_argument("--flat-policy", choices=["refuse", "drop", "skip_subject"],
                   default="refuse",
                   help="flat EEG channels or regions: an error (default), dropped from every "
                        "subject, or their subjects left out (config: eeg.flat_policy, "
                        "regions.flat_policy)")
    e = p.add_argument_group("EEG expectations")
    e.add_argument("--bad-channels", choices=["exclude", "interpolate", "ignore"],
                   default="exclude",
                   help="channels marked bad in a BIDS _channels.tsv: removed from every "
                        "subject (default), interpolated (needs electrode positions) or used "
                        "as they are (config: eeg.bad_channels)")
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
    v = p.add_argument_group("volume expectations (NIfTI, DICOM, PNG/JPG)")
    v.add_argument("--require-4d", action="store_true",
                   help="time series required (fMRI): a 3-D volume is an error")
    v.add_argument("--min-frames", type=int, default=2, metavar="N",
                   help="fewest frames of a run with --require-4d (default 2)")
    v.add_argument("--expected-shape", type=int, nargs=3, metavar=("X", "Y", "Z"),
                   help="spatial shape of every volume, RAS order (default: the cohort's "
                        "most common)")
    v.add_argument("--shape-policy", choices=["refuse", "resample"], default="refuse",
                   help="volumes of another shape are refused (default) or will be resampled")
    v.add_argument("--series", metavar="UID|NUMBER|largest",
                   help="DICOM series to read in folders holding several")


def _add_allow_code(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-code", action="store_true",
                   help="run a config's pipeline file from outside neurodx's pipelines/ "
                        "folder (it is Python code, run with your permissions)")


def _add_verbosity(p: argparse.ArgumentParser, default=argparse.SUPPRESS) -> None:
    """-v/-q, accepted before and after the command (a subcommand's default must not
    overwrite what was given before it, hence SUPPRESS there)."""
    p.add_argument("-v", "--verbose", action="count", default=default,
                   help="more messages on stderr (-v: progress notes, -vv: debug)")
    p.add_argument("-q", "--quiet", action="store_true",
                   default=False if default == 0 else argparse.SUPPRESS,
                   help="errors only on stderr, no progress bars")


def _log_level(args) -> str:
    """The level from --debug, -v and -q (bars are drawn at WARNING or below, on a TTY)."""
    if args.debug or args.verbose >= 2:
        return "DEBUG"
    if args.quiet:
        return "ERROR"
    return "INFO" if args.verbose == 1 else "WARNING"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurodx",
        description="Classify patients from brain recordings: RMT and CNN routes compared "
                    "under subject-level cross-validation.")
    parser.add_argument("--version", action="version", version=f"neurodx {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    _add_verbosity(parser, default=0)
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
    fmri = sim_sub.add_parser("fmri", help="resting-state fMRI as 4-D NIfTI + participants.tsv "
                                           "(group effect in a striatal region)")
    fmri.add_argument("--out", required=True, type=Path, help="cohort folder to write")
    fmri.add_argument("--groups", nargs="+", default=["HC", "MA"], metavar="LABEL",
                      help="the first is the reference; the others carry the effect")
    fmri.add_argument("--subjects-per-group", type=int, default=10, metavar="N")
    fmri.add_argument("--shape", type=int, nargs=3, default=[64, 64, 31], metavar=("X", "Y", "Z"))
    fmri.add_argument("--frames", type=int, default=240, metavar="N")
    fmri.add_argument("--tr", type=float, default=2.0, metavar="S", help="repetition time")
    fmri.add_argument("--voxel-size", type=float, nargs=3, default=[3.75, 3.75, 4.0],
                      metavar=("X", "Y", "Z"), help="mm")
    fmri.add_argument("--effect-size", type=float, default=1.0, metavar="X",
                      help="non-reference groups: fronto-striatal coupling x (1 - X/2), "
                           "white-matter hyperintensity rate x (1 + 2X); 0: null cohort")
    fmri.add_argument("--noise", type=float, default=0.015, metavar="F",
                      help="noise sd, fraction of the baseline")
    fmri.add_argument("--striatal-amplitude", type=float, default=0.008, metavar="F",
                      help="fronto-striatal node signal amplitude, fraction of the baseline")
    fmri.add_argument("--coupling", type=float, default=0.7, metavar="K",
                      help="fronto-striatal network coupling of the reference group, in [0, 1]")
    fmri.add_argument("--lesion-rate", type=float, default=1.0, metavar="R",
                      help="mean white-matter hyperintensities per run, reference group")
    fmri.add_argument("--networks", type=int, default=4, metavar="N",
                      help="bilateral resting-state-like components")
    fmri.add_argument("--background-noise", type=float, default=0.005, metavar="F",
                      help="noise outside the brain, fraction of the baseline (0: zeros, as "
                           "brain-masked outputs; smaller files)")
    fmri.add_argument("--quantum", type=float, default=1.0, metavar="Q",
                      help="intensity step of the stored int16 values (larger: smaller files)")
    fmri.add_argument("--seed", type=int, default=0)
    fmri.add_argument("--jobs", type=int, default=1, metavar="N")
    fmri.set_defaults(func=_cmd_simulate_fmri, kind_parser=fmri)
    ct = sim_sub.add_parser("ct", help="head CT in Hounsfield units (DICOM, NIfTI or PNG) + "
                                       "participants.tsv")
    ct.add_argument("--out", required=True, type=Path, help="cohort folder to write")
    ct.add_argument("--groups", nargs="+", default=["normal", "infarct", "hemorrhage"],
                    metavar="LABEL")
    ct.add_argument("--subjects-per-group", type=int, default=30, metavar="N")
    ct.add_argument("--format", choices=["dicom", "nifti", "png"], default="dicom",
                    help="DICOM series (HU, fake identities in headers), NIfTI (HU), or "
                         "8-bit brain-windowed PNG slices")
    ct.add_argument("--shape", type=int, nargs=3, default=[256, 256, 12],
                    metavar=("ROWS", "COLS", "SLICES"))
    ct.add_argument("--fov", type=float, default=240.0, metavar="MM",
                    help="field of view across the columns")
    ct.add_argument("--slice-thickness", type=float, default=5.0, metavar="MM")
    ct.add_argument("--effect-size", type=float, default=1.0, metavar="X",
                    help="lesion contrast scale; 0: invisible lesions (null cohort)")
    ct.add_argument("--subdural-fraction", type=float, default=0.25, metavar="F",
                    help="share of hemorrhages that are subdural")
    ct.add_argument("--lesions", nargs="+", metavar="LABEL=TYPE",
                    help="lesion type (none, infarct, hemorrhage) of each group; default: "
                         "normal=none infarct=infarct hemorrhage=hemorrhage")
    ct.add_argument("--seed", type=int, default=0)
    ct.add_argument("--jobs", type=int, default=1, metavar="N")
    ct.set_defaults(func=_cmd_simulate_ct, kind_parser=ct)

    ins = sub.add_parser("inspect", help="summarise a cohort and list every problem "
                                         "(exit 1 when a problem would stop a study)")
    ins.add_argument("cohort", type=Path, help="folder with participants.tsv")
    ins.add_argument("--summary", action="store_true", help="omit the per-file table")
    ins.add_argument("--jobs", type=int, default=1, metavar="N", help="files checked in parallel")
    _add_cohort_options(ins)
    ins.set_defaults(func=_cmd_inspect)

    fea = sub.add_parser("features", help="RMT features of a cohort: one row per subject "
                                          "(LES and cleaned-covariance features)")
    fea.add_argument("cohort", type=Path, help="folder with participants.tsv")
    fea.add_argument("--out", type=Path, metavar="FEATURES",
                     help="output table: .csv, .tsv or .parquet")
    fea.add_argument("--bids-derivatives", type=Path, metavar="BIDS_ROOT",
                     help="also (or instead) write BIDS derivatives to "
                          "BIDS_ROOT/derivatives/neurodx/: per subject a _features.tsv and "
                          "its JSON sidecar (usually BIDS_ROOT is the cohort itself)")
    fea.add_argument("--config", type=Path, metavar="CFG",
                     help="YAML config for preprocessing, windows, bands and the rmt_les / "
                          "rmt_tangent settings (default: built-in defaults)")
    fea.add_argument("--covariance", choices=["logeuclid", "none"], default="logeuclid",
                     help="cleaned-covariance features: log-Euclidean upper triangles "
                          "(default) or none")
    fea.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config value, e.g. --set windows.length=4")
    fea.add_argument("--jobs", type=int, default=1, metavar="N",
                     help="subjects processed in parallel")
    _add_allow_outside(fea)
    _add_allow_code(fea)
    fea.set_defaults(func=_cmd_features)

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
    cmp_.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="override a config value (YAML), e.g. --set cv.n_splits=3 "
                           "--set routes.eeg_cnn.preset=eeg_fast; repeatable")
    cmp_.add_argument("--jobs", type=int, default=1, metavar="N",
                      help="subjects loaded and featurised, and the RMT routes' folds "
                           "fitted, in parallel")
    _add_allow_outside(cmp_)
    _add_allow_code(cmp_)
    cmp_.set_defaults(func=_cmd_compare)

    trn = sub.add_parser("train", help="fit one route of a study on every usable subject and "
                                       "write a model bundle")
    trn.add_argument("config", type=Path, help="YAML config (see configs/)")
    trn.add_argument("--route", required=True, metavar="NAME", help="the route to train")
    trn.add_argument("--cohort", type=Path, metavar="DIR",
                     help="train on this cohort instead of the config's")
    trn.add_argument("--out", required=True, type=Path, metavar="MODEL_DIR",
                     help="bundle folder to write (an existing bundle there is replaced)")
    trn.add_argument("--skip-bad", action="store_true",
                     help="train on usable subjects, listing the others, instead of refusing")
    trn.add_argument("--seed", type=int, help="override the config's seed")
    trn.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config value (YAML), e.g. --set routes.cnn7.preset=ct_fast;"
                          " repeatable")
    trn.add_argument("--jobs", type=int, default=1, metavar="N",
                     help="subjects loaded and featurised in parallel")
    _add_allow_outside(trn)
    trn.add_argument("--sign-key-file", type=Path, metavar="KEY_FILE",
                     help="sign the bundle (HMAC-SHA256 of its manifest) with the key in this "
                          "file; default: $NEURODX_BUNDLE_KEY if set, else unsigned")
    _add_allow_code(trn)
    trn.set_defaults(func=_cmd_train)

    sco = sub.add_parser("score", help="classify recordings or scans with a model bundle: one "
                                       "row per input in a CSV (exit 1 if any input failed)")
    sco.add_argument("model", type=Path, metavar="MODEL_DIR", help="bundle from neurodx train")
    sco.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                     help="files, folders, or cohort folders (with participants.tsv)")
    sco.add_argument("--out", required=True, type=Path, metavar="CSV",
                     help="scores to write; finished inputs are journaled in "
                          "CSV.journal.jsonl, so a re-run resumes")
    sco.add_argument("--jobs", type=int, default=1, metavar="N",
                     help="worker processes (joblib, or Dask LocalCluster workers)")
    sco.add_argument("--scheduler", metavar="local|tcp://HOST:PORT",
                     help="run on Dask: 'local' starts a LocalCluster of --jobs workers; an "
                          "address uses a running scheduler")
    sco.add_argument("--no-progress", action="store_true",
                     help="no progress bar (deprecated: -q also turns bars off)")
    _add_allow_outside(sco)
    sco.add_argument("--key-file", type=Path, metavar="KEY_FILE",
                     help="require the bundle's signature under the key in this file, checked "
                          "before anything else is read; default: $NEURODX_BUNDLE_KEY if set")
    sco.add_argument("--expect-model-id", metavar="ID",
                     help="refuse the bundle unless its model id (printed by neurodx train) "
                          "is ID; the 64-digit manifest_sha256 is accepted too")
    sco.set_defaults(func=_cmd_score)

    sch = sub.add_parser("config-schema", help="write the JSON Schema of study configs (for "
                                               "editors: completion and checks in YAML)")
    sch.add_argument("--out", type=Path, metavar="JSON",
                     help="file to write (e.g. configs/neurodx.schema.json); default: stdout")
    sch.set_defaults(func=_cmd_config_schema)
    for command in (eeg, reg, fmri, ct, ins, fea, cmp_, trn, sco, sch):
        _add_verbosity(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from ._logging import logger, set_log_level

    # The level is this command's: restored on return, so calling main() in-process (as
    # tests and notebooks do) leaves the caller's logging as it was.
    old_level = set_log_level(_log_level(args), return_old_level=True)
    try:
        return _run_command(args)
    finally:
        logger.setLevel(old_level)


def _run_command(args) -> int:
    import warnings

    from ._threads import single_threaded_blas

    # loky restarts a worker whose memory grew (torch, imported by pyRiemann, makes every
    # worker large) and warns about it; results are unaffected, so users need not see it.
    warnings.filterwarnings("ignore", message="A worker stopped while some jobs",
                            category=UserWarning)

    from ._workers import workers_end_with_this_process

    try:
        # Worker processes end with this one, even when it is killed (kill -9).
        with single_threaded_blas(), workers_end_with_this_process():
            return args.func(args)
    except KeyboardInterrupt:
        print("neurodx: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into e.g. `head`, which stopped reading: not an error of ours.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as err:  # noqa: BLE001 - every failure is one line and exit 2
        if args.debug:
            raise
        print(f"neurodx: {_one_line_reason(err)}", file=sys.stderr)
        return EXIT_ERROR


def _one_line_reason(err: BaseException) -> str:
    """What stopped the command, in one line (the exit code is 2 whatever it was).

    Exit 1 is kept for "the command ran and some inputs failed": a crash must never
    look like that, so anything unexpected also exits 2, with a hint to ``--debug``.
    """
    import errno

    def text(e) -> str:
        return " ".join(str(e).split())

    if isinstance(err, NotImplementedError):
        return f"not implemented: {text(err)}"
    if isinstance(err, (NeurodxError, ValueError, FileNotFoundError)):
        return f"error: {text(err)}"
    if isinstance(err, MemoryError):
        return ("error: out of memory (an input or a setting needs more memory than this "
                "machine has; try fewer --jobs)")
    if isinstance(err, OSError):
        where = f" ({err.filename})" if err.filename else ""
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            return f"error: no space left on the device{where}; free space and run again"
        return f"error: {err.strerror or text(err)}{where}"
    return (f"internal error: {type(err).__name__}: {text(err)} "
            "(run with --debug for the traceback and report it)")

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
