"""Run every route of a study on identical subject-level folds and write the results.

Order of work:

1. prepare the study (:func:`neurodx.study.prepare_study`: the checked cohort, the
   context and the routes; refuse on errors unless ``cohort.skip_bad``);
2. load each subject once (in parallel) and apply every route's stateless ``extract``
   step, keeping only the compact results (window spectra once per subject, shared by
   the routes starting with them and the report);
3. build the folds once from the labels (and sites), the same for every route; fit a
   fresh clone of each route on each fold's training subjects only (the MP reference too);
4. compute metrics, subject-bootstrap CIs, paired tests and a permutation test for the
   best route; write ``predictions.csv``, ``metrics.json``, ``manifest.json``,
   ``report.html`` (and ``diagnostics.json`` for CNN ``diagnostics: true``) atomically.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from .. import __version__
from .._atomic import atomic_write_text
from .._json import dumps
from .._logging import logger, progress, verbose as _verbose
from .._threads import single_threaded_blas
from ..config import Config
from ..errors import ConfigError, Problem
from ..study import (PreparedStudy, Route, extract_subject, first_spectra_step, git_commit,
                     input_hashes, is_synthetic, prepare_study, thread_counts, versions)
from .cross_validation import cross_validate_routes
from .folds import make_folds
from .permutation import permutation_pvalue
from .report import write_report
from .summary import bad_annotation_summary, best_route, paired_comparisons, route_metrics

__all__ = ["ComparisonResult", "run_comparison"]


@dataclass
class ComparisonResult:
    out_dir: Path
    predictions: pd.DataFrame
    metrics: dict
    manifest: dict
    report: Path | None = None
    excluded: list[Problem] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    #: route name -> one record per fold of its CNN diagnostics (``diagnostics: true``)
    diagnostics: dict = field(default_factory=dict)


@_verbose
def run_comparison(config: Config, out_dir: str | Path, *, n_jobs: int = 1,
                   routes: list[str] | None = None, argv: list[str] | None = None,
                   verbose=None) -> ComparisonResult:
    """Run a study's routes on identical subject-level folds and write the outputs.

    Parameters
    ----------
    config : Config
        A validated configuration (see :func:`neurodx.config.load_config`).
    out_dir : path
        Run folder; receives ``predictions.csv``, ``metrics.json``, ``manifest.json``
        and ``report.html``.
    n_jobs : int
        Subjects loaded and featurised in parallel, and the folds of the RMT routes
        fitted in parallel (CNN routes use torch's threads on every core instead).
    routes : list of str, optional
        Run only these routes of the config.
    argv : list of str, optional
        The command line, recorded in the manifest.
    verbose : bool | str | int | None
        Log level for this call (see :func:`neurodx.set_log_level`). Progress bars over
        subjects, routes x folds and permutations are drawn on a terminal unless the
        level is ERROR or above.

    Returns
    -------
    ComparisonResult
        The run folder's outputs (predictions, metrics, manifest, report path).
    """
    # Small batched decompositions: BLAS threads only slow them (see neurodx._threads).
    with single_threaded_blas():
        return _run_comparison(config, Path(out_dir), n_jobs=n_jobs, routes=routes, argv=argv)


def _run_comparison(cfg: Config, out_dir: Path, *, n_jobs, routes, argv) -> ComparisonResult:
    started = dt.datetime.now(dt.timezone.utc)
    study = prepare_study(cfg, n_jobs=n_jobs, routes=routes)
    perm_route = _permutation_route(cfg, study.routes, subset=bool(routes))
    cohort, cv = study.cohort, cfg["cv"]
    y = np.asarray([s.group for s in cohort], dtype=object)
    folds = make_folds(y, scheme=cv["scheme"], n_splits=cv["n_splits"],
                       n_repeats=cv["n_repeats"], test_size=cv["test_size"],
                       sites=[s.site for s in cohort], seed=study.context.seed)
    extracted, feature_names, spectra, extract_time = _extract(study, n_jobs)
    predictions, cv_results = _cross_validate_routes(study, extracted, y, folds, n_jobs)
    metrics = _metrics(cfg, study, predictions, cv_results, y, folds, extracted, perm_route,
                       n_jobs, extract_time)
    manifest = _manifest(cfg, study, metrics, folds, started, argv)
    diagnostics = {name: r["diagnostics"] for name, r in cv_results.items() if r["diagnostics"]}
    result = ComparisonResult(out_dir, predictions, metrics, manifest,
                              excluded=[p for p in study.problems if p.excludes_subject],
                              routes=study.routes, diagnostics=diagnostics)
    _write(result, study, extracted, spectra, feature_names)
    return result


def _permutation_route(cfg: Config, all_routes: list[Route], subset: bool) -> str:
    """The route the permutation test refits (``statistics.permutation_route``)."""
    perm_route = cfg["statistics"]["permutation_route"]
    if perm_route == "best" or perm_route in {r.name for r in all_routes}:
        return perm_route
    if not subset:
        raise ConfigError(f"statistics.permutation_route: {perm_route!r} is not a route of "
                          f"this run ({', '.join(r.name for r in all_routes)}) nor 'best'")
    # The run asked for a subset of routes (--routes) without the named one: test
    # the best route of this run rather than refuse it (a note says so).
    if int(cfg["statistics"]["permutations"]):
        print(f"note: statistics.permutation_route {perm_route!r} is not in this run; "
              "the permutation test uses the best route", file=sys.stderr)
    return "best"


def _extract(study: PreparedStudy, n_jobs: int):
    """Every subject's stateless outputs per route, feature names, window spectra, time."""
    cohort, all_routes = study.cohort, study.routes
    logger.info("loading %d subjects for %d route(s)", len(cohort), len(all_routes))
    t0 = time.perf_counter()
    spectra_step = first_spectra_step(all_routes)
    loaded = list(progress(Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(extract_subject)(s.participant_id, s.paths, study.context, study.spec,
                                 all_routes, spectra_step)
        for s in cohort), desc="features", total=len(cohort), unit="subject", leave=False))
    extracted = [features for features, _, _ in loaded]
    feature_names = {r.name: names for r, names in zip(all_routes, loaded[0][1])} if loaded \
        else {}
    spectra = [sp for _, _, sp in loaded] if spectra_step is not None else None
    return extracted, feature_names, spectra, time.perf_counter() - t0


def _cross_validate_routes(study: PreparedStudy, extracted, y, folds, n_jobs: int):
    """Every route on the same folds: the predictions table and per-route CV results."""
    all_routes, classes = study.routes, study.context.classes
    rows, results = [], {}
    bar = progress(desc="routes x folds", total=len(all_routes) * len(folds), unit="fit")
    Xs = [[subject[k] for subject in extracted] for k in range(len(all_routes))]
    for route, (route_rows, scores, diag, records, seconds) in zip(
            all_routes, cross_validate_routes(all_routes, Xs, y, folds, classes, bar,
                                              n_jobs=n_jobs)):
        results[route.name] = {"split_scores": scores, "records": records, "diagnostics": diag,
                               "seconds": seconds}
        rows += route_rows
    bar.close()
    predictions = pd.DataFrame(rows)
    pids = np.asarray(study.cohort.participant_ids)
    predictions.insert(0, "participant_id", pids[predictions.pop("index").to_numpy()])
    return predictions, results


def _metrics(cfg, study, predictions, cv_results, y, folds, extracted, perm_route, n_jobs,
             extract_time):
    """``metrics.json``: per-route metrics, paired tests and the permutation test."""
    context, all_routes = study.context, study.routes
    classes, seed = context.classes, context.seed
    stats = cfg["statistics"]
    per_route = {r.name: route_metrics(predictions, r, classes, cv_results[r.name], stats, seed)
                 for r in all_routes}
    best = best_route(per_route)
    n_test = float(np.mean([len(f.test) for f in folds]))
    n_train = float(np.mean([len(f.train) for f in folds]))
    split_scores = {name: r["split_scores"] for name, r in cv_results.items()}
    comparisons = paired_comparisons(predictions, best, per_route, split_scores, n_train, n_test)
    tested = best if perm_route == "best" else perm_route
    k = [r.name for r in all_routes].index(tested)
    permutation = permutation_pvalue(all_routes[k], [s[k] for s in extracted], y, folds,
                                     classes, split_scores[tested], int(stats["permutations"]),
                                     seed + 1, n_jobs=n_jobs)
    problems, check = study.problems, study.check
    return {
        "study": context.study, "synthetic_data": is_synthetic(study.cohort), "classes": classes,
        "n_subjects": len(study.cohort),
        "subjects_per_class": {c: int(np.sum(y == c)) for c in classes},
        "cv": {**cfg["cv"], "n_folds_total": len(folds), "mean_train_subjects": n_train,
               "mean_test_subjects": n_test},
        "routes": per_route, "best_route": best, "paired_comparisons": comparisons,
        "permutation_test": permutation, "extract_seconds": extract_time,
        "excluded_subjects": [str(p) for p in problems if p.excludes_subject],
        "warnings": [str(p) for p in problems if p.severity == "warning"],
        "flat_dropped": check.flat_dropped, "bad_channels_dropped": check.bads_dropped,
        "statistics": {"level": stats["level"], "bootstrap": stats["bootstrap"]},
        "bad_annotations": bad_annotation_summary(check, context.window_length,
                                                  context.window_overlap),
    }


def _manifest(cfg, study, metrics, folds, started, argv) -> dict:
    """``manifest.json``: command, code, config, inputs, platform and the folds."""
    cohort, context, check = study.cohort, study.context, study.check
    pids = np.asarray(cohort.participant_ids)
    return {
        "neurodx_version": __version__, "command": argv or sys.argv, "git_commit": git_commit(),
        "started": started.isoformat(), "finished": None,
        "seed": context.seed, "config": cfg.data,
        "config_file": str(cfg.path) if cfg.path else None, "config_sha256": cfg.sha256,
        "cohort": str(cohort.root), "synthetic_data": metrics["synthetic_data"],
        "inputs_sha256": input_hashes(cohort), "versions": versions(),
        "platform": {"system": platform.platform(), "machine": platform.machine(),
                     "cpu_count": os.cpu_count(), "threads": thread_counts()},
        "channel_names": context.channel_names,
        "sfreq": context.data_rate, "n_regions": context.n_regions,
        "flat_dropped": check.flat_dropped, "bad_channels_dropped": check.bads_dropped,
        "bad_annotations": metrics["bad_annotations"],
        "folds": [{"repeat": f.repeat, "fold": f.fold,
                   "test": sorted(pids[f.test].tolist())} for f in folds],
    }


def _write(result: ComparisonResult, study, extracted, spectra, feature_names) -> None:
    """Write the run folder atomically; ``manifest.json`` last, when all is written."""
    out_dir = result.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    result.predictions.to_csv(buf, index=False, float_format="%.6g")
    atomic_write_text(out_dir / "predictions.csv", buf.getvalue())
    atomic_write_text(out_dir / "metrics.json", dumps(result.metrics, indent=2, default=str)
                      + "\n")
    if result.diagnostics:
        # Full spectra (eigenvalues, SLQ nodes) of every fold's networks; metrics.json
        # keeps the per-layer summary.
        atomic_write_text(out_dir / "diagnostics.json",
                          dumps(result.diagnostics, default=str) + "\n")
    result.report = write_report(result, study.cohort, study.context, study.routes, extracted,
                                 study.pipeline, spectra=spectra, feature_names=feature_names)
    result.manifest["finished"] = dt.datetime.now(dt.timezone.utc).isoformat()
    atomic_write_text(out_dir / "manifest.json",
                      dumps(result.manifest, indent=2, default=str) + "\n")
