"""Run every route of a study on identical subject-level folds and write the results.

Order of work:

1. load and check the cohort (refuse on errors unless ``cohort.skip_bad``);
2. load each subject once (in parallel) and apply every route's stateless
   ``extract`` step, keeping only the compact results (window spectra are computed
   once per subject and shared by the routes starting with them and the report);
3. build the folds once from the labels (and sites) and give the same folds to
   every route; fit a fresh clone of each route's estimator on each fold's
   training subjects only (for ``rmt_les`` this includes the LES step's MP
   reference, as ``make_les_pipeline().fit`` in Python);
4. compute metrics, subject-bootstrap CIs, paired tests and a permutation test
   for the best route; write ``predictions.csv``, ``metrics.json``,
   ``manifest.json`` and ``report.html`` atomically (and ``diagnostics.json``
   when CNN routes computed random-matrix diagnostics, ``diagnostics: true``).
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone

from .. import __version__
from .._atomic import atomic_write_text
from .._hashing import sha256_file
from .._json import dumps
from .._logging import logger, progress, verbose as _verbose
from .._threads import single_threaded_blas
from ..config import Config
from ..errors import ConfigError, Problem, RecordingError
from ..io import EEGSpec, RegionSpec, load_eeg, read_region_timeseries
from ..io.text_eeg import TEXT_EEG_FORMATS, text_eeg_sidecars
from ..preprocessing import preprocess_raw
from ..rmt import shared_band_scatter
from .folds import make_folds
from .metrics import bootstrap_ci, classification_metrics, format_per_class
from .routes import Route
from .statistics import corrected_resampled_ttest, mcnemar_test

__all__ = ["StudyContext", "ComparisonResult", "load_pipeline", "run_comparison",
           "load_subject", "study_spec", "PACKAGES"]

PACKAGES = ("neurodx", "numpy", "scipy", "scikit-learn", "pandas", "mne", "pyriemann", "torch",
            "nibabel", "pydicom", "joblib", "matplotlib")


@dataclass
class StudyContext:
    """What a pipeline module learns about the data before building its routes.

    Everything here comes from the cohort, never from code: the class labels,
    channel names or region count, sampling rate. ``flat_dropped`` names the
    channels or regions removed from every subject for being flat
    (``flat_policy: drop``; EEG ``channel_names`` no longer hold them);
    ``region_columns`` are the region columns kept, by position (None: all of
    the ``n_regions`` columns a file holds).
    """

    config: Config
    classes: list[str]
    modality: str
    channel_names: list[str] | None
    sfreq: float | None
    n_regions: int | None
    seed: int
    n_jobs: int = 1
    flat_dropped: list[str] = field(default_factory=list)
    region_columns: list[int] | None = None


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


def load_pipeline(path: str | Path):
    """Import a study module (``pipelines/<study>.py``) from its file path.

    Study modules are user code composed from neurodx parts; neurodx never imports
    ``pipelines`` as a package, it loads the file a config names.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"pipeline module not found: {path}")
    # Not registered in sys.modules on purpose: joblib workers then receive the
    # module's functions by value (cloudpickle) instead of failing to import them.
    spec = importlib.util.spec_from_file_location(f"neurodx_pipeline_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "build_routes"):
        raise ConfigError(f"{path}: a pipeline module must define build_routes(context)")
    return module


def load_subject(paths, context: StudyContext, spec):
    """Load one subject's recording(s) ready for the routes.

    EEG: a preprocessed :class:`mne.io.Raw`; region time series: an array
    ``(n_regions, n_times)``; volumes: the path of the subject's one volume (file or
    series folder), read lazily by the routes.
    """
    cfg = context.config
    if context.modality == "eeg":
        import mne

        pre = cfg["preprocessing"]
        raws = [load_eeg(p, spec, context.channel_names, context.sfreq) for p in paths]
        raw = raws[0] if len(raws) == 1 else mne.concatenate_raws(raws, verbose="ERROR")
        # the recording was read for this call only: preprocess it in place (no copy)
        return preprocess_raw(raw, reference=pre["reference"], l_freq=pre["l_freq"],
                              h_freq=pre["h_freq"], notch=pre["notch"], sfreq=pre["sfreq"],
                              copy=False)
    if context.modality == "regions":
        # (n_regions, n_times): time points are the samples (sfreq 1), runs are concatenated;
        # columns dropped for being flat (flat_policy: drop) go from every file.
        keep = slice(None) if context.region_columns is None else list(context.region_columns)
        return np.concatenate([read_region_timeseries(p).data[keep] for p in paths], axis=1)
    # Volumes: the path itself; the CNN estimators stream slices from it.
    if len(paths) != 1:
        raise RecordingError(context.config["cohort"]["path"] or "cohort",
                             f"a volume study needs exactly one volume (file or series "
                             f"folder) per subject, got {len(paths)}")
    return str(paths[0])


def bad_annotation_summary(check, windows: dict) -> dict:
    """Per subject with ``BAD_`` spans: their number, seconds, and windows they remove.

    Windows are counted on the study's ``windows.length``/``overlap`` grid at each
    file's own rate (routes with their own window settings drop their own count).
    """
    from ..preprocessing.windows import clean_window_mask, window_starts

    rec = check.recordings.set_index("file") if len(check.recordings) else None
    out = {}
    for pid, entry in check.bad_annotations.items():
        dropped = total = 0
        for file, spans in entry["spans_at"].items():
            sfreq, n_times = float(rec.loc[file, "sfreq"]), int(rec.loc[file, "n_times"])
            n_win = int(round(float(windows["length"]) * sfreq))
            step = max(1, int(round(n_win * (1 - float(windows["overlap"])))))
            starts = window_starts(n_times, n_win, step)
            keep = clean_window_mask(starts, n_win, np.asarray(spans, dtype=np.int64))
            dropped += int((~keep).sum())
            total += len(starts)
        out[pid] = {"spans": entry["spans"], "seconds": round(entry["seconds"], 3),
                    "windows_dropped": dropped, "windows_total": total}
    return out


def _spectra_step(routes):
    """The first route step computing window eigen-spectra (for the report's MP plot)."""
    for route in routes:
        steps = getattr(route.estimator, "steps", [])
        # only a first step: spectra behind another step (fMRI region extraction) need
        # that step's output, not the loaded recording
        if steps and steps[0][0] == "spectra":
            return steps[0][1]
    return None


def _starts_with(route, step) -> bool:
    """Whether ``route``'s first stateless step computes exactly what ``step`` computes."""
    steps = getattr(route.estimator, "steps", None)
    if not steps or not route.stateless_steps or step is None:
        return False
    first = steps[0][1]
    return type(first) is type(step) and first.get_params() == step.get_params()


def _extract_subject(pid, paths, context, spec, routes, spectra_step=None):
    """One subject's stateless route outputs, and its window spectra when asked."""
    data = load_subject(paths, context, spec)
    if context.modality == "volume":
        # The CNN estimators take (subject_id, data) pairs: IDs name subjects in their
        # errors and inner splits (file names may repeat: every DICOM folder "dicom").
        data = (pid, data)
    # One band representation per recording (window FFTs -> band scatter matrices)
    # serves the spectra step and every route starting with a step that takes it
    # (cleaned band covariances), on nested window grids.
    firsts = [route.estimator.steps[0][1]
              if getattr(route.estimator, "steps", None) and route.stateless_steps else None
              for route in routes]
    bands, usable = shared_band_scatter(data, [spectra_step, *firsts])
    spectra = (clone(spectra_step).fit_transform([bands if usable[0] else data])[0]
               if spectra_step is not None else None)
    # Routes starting with the same spectra step reuse them (eigen-decompositions are
    # the costly part of extraction once the bands are shared).
    out = [r.extract(spectra, return_names=True, start=1) if _starts_with(r, spectra_step)
           else r.extract(bands if use else data, return_names=True)
           for r, use in zip(routes, usable[1:])]
    return [features for features, _ in out], [names for _, names in out], spectra


def study_spec(cfg: Config, modality: str):
    """The expectations (EEGSpec, RegionSpec or VolumeSpec) of a config for a modality."""
    if modality == "eeg":
        return EEGSpec(**cfg["eeg"])
    if modality == "regions":
        return RegionSpec(**cfg["regions"])
    from ..io.volume_checks import VolumeSpec

    # the region-extraction keys (atlas, parcellation...) belong to the routes, not the check
    vol = {k: v for k, v in cfg["volume"].items() if k in VolumeSpec.__dataclass_fields__}
    if vol["expected_shape"] is not None:
        vol["expected_shape"] = tuple(vol["expected_shape"])
    return VolumeSpec(**vol)



def _input_hashes(cohort) -> dict:
    files = {"participants.tsv": cohort.root / "participants.tsv"}
    for s in cohort:
        for p in s.paths:
            targets = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
            for q in targets:
                # BrainVision / EEGLAB recordings keep their data in companion files.
                companions = [q.with_suffix(ext) for ext in (".eeg", ".vmrk", ".fdt")
                              if q.suffix.lower() in (".vhdr", ".set") and q.with_suffix(ext).exists()]
                # Text EEG takes its rate, names and units from sidecars.
                if q.name.lower().endswith(TEXT_EEG_FORMATS):
                    companions += [c for c in text_eeg_sidecars(q) if c.is_file()]
                for f in [q, *companions]:
                    try:
                        files[str(f.relative_to(cohort.root))] = f
                    except ValueError:
                        files[str(f)] = f
    return {k: sha256_file(v) for k, v in sorted(files.items())}


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def _git_commit() -> str | None:
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=10)
        return res.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _is_synthetic(cohort) -> bool:
    df = cohort.participants
    if "synthetic" in df.columns and df["synthetic"].astype(str).str.lower().isin(
            ["yes", "true", "1"]).all():
        return True
    meta = cohort.root / "simulation.json"
    return meta.is_file() and json.loads(meta.read_text()).get("synthetic") is True


def _fit_fold(route: Route, X: list, y: np.ndarray, fold, diagnostics: bool = True):
    """A fresh clone of the route's fitted part, fitted on the fold's training subjects.

    ``X`` holds each subject's stateless outputs (for ``rmt_les``, its window spectra),
    so everything that learns from subjects (the LES step's MP reference, scalers,
    classifiers) learns from this fold's training subjects only. ``diagnostics=False``
    turns off the CNNs' random-matrix diagnostics (permutation refits only predict).
    """
    est = clone(route.cv_estimator)
    if not diagnostics:
        est.set_params(**{k: False for k in est.get_params()
                          if k == "diagnostics" or k.endswith("__diagnostics")})
    X_train, y_train = [X[i] for i in fold.train], y[fold.train]
    if not _grid_sets_only_the_classifier(est):
        return est.fit(X_train, y_train)
    # Every point of the grid refits the same steps before the classifier (the tangent
    # space's reference mean: most of a tuned route's time) on the same inner training
    # subjects. scikit-learn's Pipeline memory fits them once per inner fold, in a private
    # folder of this fold removed afterwards: the same fits, so the same predictions.
    with tempfile.TemporaryDirectory(prefix="neurodx-fold-") as cache:
        est.set_params(estimator__memory=cache)
        est.fit(X_train, y_train)
    est.set_params(estimator__memory=None)
    if hasattr(est, "best_estimator_"):
        est.best_estimator_.set_params(memory=None)
    return est


def _grid_sets_only_the_classifier(est) -> bool:
    """A nested search (GridSearchCV over a Pipeline) whose grid only sets the last step,
    with earlier steps of importable classes (the cache pickles them)."""
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    if not isinstance(est, GridSearchCV) or not isinstance(est.estimator, Pipeline) \
            or len(est.estimator.steps) < 2 or est.estimator.memory is not None:
        return False
    last = est.estimator.steps[-1][0]
    grids = est.param_grid if isinstance(est.param_grid, list) else [est.param_grid]
    importable = all(type(step).__module__.split(".")[0] in ("neurodx", "sklearn", "pyriemann")
                     for _, step in est.estimator.steps[:-1])
    return importable and all(k.startswith(f"{last}__") for g in grids for k in g)


def _fit_predict(route: Route, X: list, y: np.ndarray, fold, classes, with_proba=True,
                 diagnostics: bool = True):
    """Fit a fresh clone of the route on the fold's training subjects; predict its test ones.

    Returns predicted labels, when asked and available probabilities in ``classes``
    order (else None), and the fitted estimator.
    """
    est = _fit_fold(route, X, y, fold, diagnostics)
    test = [X[i] for i in fold.test]
    pred = np.asarray(est.predict(test))
    if not with_proba or not hasattr(est, "predict_proba"):
        return pred, None, est
    order = [list(est.classes_).index(c) for c in classes]
    return pred, np.asarray(est.predict_proba(test))[:, order], est


def _final_step(est):
    est = getattr(est, "best_estimator_", est)           # tuned routes: the refitted one
    return est[-1] if hasattr(est, "steps") else est


def _fold_diagnostics(est, fold) -> dict | None:
    """The CNN's random-matrix diagnostics of one fold (``diagnostics: true``), if any."""
    diag = getattr(_final_step(est), "diagnostics_", None)
    return None if diag is None else {"repeat": fold.repeat, "fold": fold.fold, **diag}


def _fold_record(est, fold, seconds: float) -> dict:
    """One fold's fit+predict wall time and, for a CNN, its per-epoch training history."""
    history = getattr(_final_step(est), "history_", None)
    if history is not None:
        # Numbers only (other trainers' records may hold per-batch lists): one row per epoch.
        history = [{k: float(v) for k, v in dict(h).items()
                    if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)}
                   for h in history]
    return {"repeat": fold.repeat, "fold": fold.fold, "seconds": seconds,
            "history": history or None}


def _runs_torch(route: Route) -> bool:
    """Whether the route holds a CNN estimator (``neurodx.models``), which uses torch."""
    est = route.estimator
    steps = [step for _, step in est.steps] if hasattr(est, "steps") else [est]
    return any(type(step).__module__.startswith("neurodx.models") for step in steps)


def _fold_outcome(route: Route, X: list, y: np.ndarray, fold, classes):
    """One fold's predicted labels, probabilities, CNN diagnostics and record (time,
    training history); no estimator: a parallel worker sends back only these."""
    # BLAS single-threaded in each fold: with n_jobs workers on n_jobs cores, BLAS
    # threads would only multiply the threads competing for them (see neurodx._threads).
    t0 = time.perf_counter()
    with single_threaded_blas():
        pred, proba, est = _fit_predict(route, X, y, fold, classes)
    record = _fold_record(est, fold, time.perf_counter() - t0)
    return pred, proba, _fold_diagnostics(est, fold), record


def _run_folds(route: Route, X: list, y: np.ndarray, folds, classes, n_jobs: int = 1):
    """``_fold_outcome`` of every fold, in fold order.

    RMT routes run their folds in parallel on ``n_jobs`` loky worker processes
    (each fold's fit is independent and seeded, so the predictions do not depend on
    ``n_jobs``). CNN routes run their folds one after the other in this process:
    torch's intra-op threads already use every core
    (:func:`neurodx.models.training.torch_session`), and torch inside several
    worker processes would oversubscribe them.
    """
    if n_jobs == 1 or len(folds) < 2 or _runs_torch(route):
        for f in folds:
            yield _fold_outcome(route, X, y, f, classes)
        return
    from .._workers import workers_end_with_this_process

    with workers_end_with_this_process():
        yield from Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_fold_outcome)(route, X, y, f, classes) for f in folds)


def _cross_validate(route: Route, X: list, y: np.ndarray, folds, classes,
                    bar=None, n_jobs: int = 1) -> tuple[list, list, list, list]:
    rows, split_scores, diagnostics, records = [], [], [], []
    if route.param_grid:
        smallest = min(int(np.min(np.unique(y[f.train], return_counts=True)[1])) for f in folds)
        if smallest < route.inner_splits:
            raise ConfigError(f"routes.{route.name}.tune: nested CV needs at least "
                              f"inner_splits={route.inner_splits} training subjects per class, "
                              f"but a fold has only {smallest}; lower tune.inner_splits or "
                              "use fewer outer folds")
    for f, (pred, proba, diag, record) in zip(
            folds, _run_folds(route, X, y, folds, classes, n_jobs)):
        records.append(record)
        if diag is not None:
            diagnostics.append(diag)
        for k, i in enumerate(f.test):
            rows.append({"index": int(i), "repeat": f.repeat, "fold": f.fold,
                         "route": route.name, "true": y[i], "predicted": pred[k],
                         **({f"proba_{c}": float(proba[k, j]) for j, c in enumerate(classes)}
                            if proba is not None else {})})
        split_scores.append(classification_metrics(y[f.test], pred, classes=classes)
                            ["balanced_accuracy"])
        if bar is not None:
            bar.update(1)
    return rows, split_scores, diagnostics, records


def _null_score(route, X, y_perm, folds, classes) -> float:
    scores = []
    for f in folds:
        pred, _, _ = _fit_predict(route, X, y_perm, f, classes, with_proba=False,
                                  diagnostics=False)
        scores.append(classification_metrics(y_perm[f.test], pred, classes=classes)
                      ["balanced_accuracy"])
    return float(np.mean(scores))


def _permutation_pvalue(route, X, y, folds, classes, split_scores, n_perm, seed,
                        n_jobs=1) -> dict:
    """Label-permutation test: refit the route on shuffled labels with the same folds.

    Uses the first repeat's folds only (a full partition of the subjects; the other
    repeats add cost, not information about the null), for the observed score too.
    Permutations are drawn up front, so the p-value does not depend on ``n_jobs``.
    """
    first = [k for k, f in enumerate(folds) if f.repeat == folds[0].repeat]
    folds = [folds[k] for k in first]
    observed = float(np.mean([split_scores[k] for k in first]))
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(y) for _ in range(n_perm)]
    null = np.asarray(list(progress(
        Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_null_score)(route, X, y_perm, folds, classes) for y_perm in perms),
        desc=f"permutations ({route.name})", total=n_perm, unit="perm")))
    return {"route": route.name, "n_permutations": n_perm, "folds": "first repeat",
            "observed": observed,
            "null_mean": float(null.mean()) if n_perm else float("nan"),
            "p_value": float((1 + np.sum(null >= observed)) / (1 + n_perm))}


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
        return _run_comparison(config, out_dir, n_jobs=n_jobs, routes=routes, argv=argv)


def _run_comparison(config: Config, out_dir: str | Path, *, n_jobs: int = 1,
                    routes: list[str] | None = None, argv: list[str] | None = None
                    ) -> ComparisonResult:
    started = dt.datetime.now(dt.timezone.utc)
    out_dir = Path(out_dir)
    cfg = config
    from .study import prepare_study   # shared with `neurodx train`

    study = prepare_study(cfg, n_jobs=n_jobs, routes=routes)
    cohort, spec, context, all_routes, pipeline = (study.cohort, study.spec, study.context,
                                                   study.routes, study.pipeline)
    problems = study.problems
    perm_route = cfg["statistics"]["permutation_route"]
    if perm_route != "best" and perm_route not in {r.name for r in all_routes}:
        if not routes:
            raise ConfigError(f"statistics.permutation_route: {perm_route!r} is not a route of "
                              f"this run ({', '.join(r.name for r in all_routes)}) nor 'best'")
        # The run asked for a subset of routes (--routes) without the named one: test
        # the best route of this run rather than refuse it (a note says so).
        if int(cfg["statistics"]["permutations"]):
            print(f"note: statistics.permutation_route {perm_route!r} is not in this run; "
                  "the permutation test uses the best route", file=sys.stderr)
        perm_route = "best"
    channel_names, sfreq, n_regions = context.channel_names, context.sfreq, context.n_regions
    if cfg["preprocessing"]["sfreq"]:
        sfreq_out = cfg["preprocessing"]["sfreq"]
    else:
        sfreq_out = sfreq
    y = np.asarray([s.group for s in cohort], dtype=object)
    classes = context.classes
    sites = [s.site for s in cohort]

    cv = cfg["cv"]
    folds = make_folds(y, scheme=cv["scheme"], n_splits=cv["n_splits"],
                       n_repeats=cv["n_repeats"], test_size=cv["test_size"], sites=sites,
                       seed=int(cfg["seed"]))

    logger.info("loading %d subjects for %d route(s)", len(cohort), len(all_routes))
    t0 = time.perf_counter()
    spectra_step = _spectra_step(all_routes)
    loaded = list(progress(Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_extract_subject)(s.participant_id, s.paths, context, spec, all_routes,
                                  spectra_step)
        for s in cohort), desc="features", total=len(cohort), unit="subject", leave=False))
    extracted = [features for features, _, _ in loaded]
    feature_names = {r.name: names for r, names in zip(all_routes, loaded[0][1])} if loaded \
        else {}
    spectra = [sp for _, _, sp in loaded] if spectra_step is not None else None
    extract_time = time.perf_counter() - t0

    pids = np.asarray(cohort.participant_ids)
    stats_cfg = cfg["statistics"]
    rows, per_route, split_scores, timing, diagnostics, records = [], {}, {}, {}, {}, {}
    bar = progress(desc="routes x folds", total=len(all_routes) * len(folds), unit="fit")
    for k, route in enumerate(all_routes):
        X = [subject[k] for subject in extracted]
        t0 = time.perf_counter()
        bar.set_postfix_str(route.name)
        route_rows, split_scores[route.name], route_diag, records[route.name] = _cross_validate(
            route, X, y, folds, classes, bar, n_jobs=n_jobs)
        timing[route.name] = time.perf_counter() - t0
        rows += route_rows
        if route_diag:
            diagnostics[route.name] = route_diag
    bar.close()
    predictions = pd.DataFrame(rows)
    predictions.insert(0, "participant_id", pids[predictions.pop("index").to_numpy()])

    for route in all_routes:
        p = predictions[predictions["route"] == route.name]
        proba_cols = [f"proba_{c}" for c in classes]
        proba = p[proba_cols].to_numpy() if set(proba_cols) <= set(p.columns) and \
            p[proba_cols].notna().all().all() else None
        m = classification_metrics(p["true"], p["predicted"], proba, classes)
        m["ci"] = bootstrap_ci(p["participant_id"], p["true"], p["predicted"], proba, classes,
                               n_boot=stats_cfg["bootstrap"], level=stats_cfg["level"],
                               seed=int(cfg["seed"]))
        m["per_class_text"] = format_per_class(m)
        m["split_balanced_accuracy"] = split_scores[route.name]
        m["fit_predict_seconds"] = timing[route.name]
        m["fold_seconds"] = [r["seconds"] for r in records[route.name]]
        if any(r["history"] for r in records[route.name]):
            m["training_history"] = [r for r in records[route.name] if r["history"]]
        m["description"] = route.description
        if route.name in diagnostics:
            from ..models.diagnostics import summarize_diagnostics
            m["diagnostics"] = [{"repeat": d["repeat"], "fold": d["fold"],
                                 **summarize_diagnostics(d)} for d in diagnostics[route.name]]
        per_route[route.name] = m

    # Highest pooled balanced accuracy; exact ties (rounding noise aside) go to the route
    # listed first in the config, so the choice never depends on float summation order.
    order = list(per_route)
    best = max(order, key=lambda r: (round(per_route[r]["balanced_accuracy"], 9),
                                     -order.index(r)))
    n_test = float(np.mean([len(f.test) for f in folds]))
    n_train = float(np.mean([len(f.train) for f in folds]))
    comparisons = []
    first = predictions[predictions["repeat"] == 0]
    for other in per_route:
        if other == best:
            continue
        a = first[first["route"] == best].sort_values(["participant_id", "fold"])
        b = first[first["route"] == other].sort_values(["participant_id", "fold"])
        comparisons.append({
            "a": best, "b": other,
            "mcnemar_repeat0": mcnemar_test(a["true"].to_numpy() == a["predicted"].to_numpy(),
                                            b["true"].to_numpy() == b["predicted"].to_numpy()),
            "corrected_ttest": corrected_resampled_ttest(split_scores[best], split_scores[other],
                                                         n_train=n_train, n_test=n_test),
        })
    tested = best if perm_route == "best" else perm_route
    tested_route = next(r for r in all_routes if r.name == tested)
    k_tested = all_routes.index(tested_route)
    permutation = _permutation_pvalue(
        tested_route, [s[k_tested] for s in extracted], y, folds, classes, split_scores[tested],
        int(stats_cfg["permutations"]), int(cfg["seed"]) + 1, n_jobs=n_jobs)

    synthetic = _is_synthetic(cohort)
    excluded = [p for p in problems if p.excludes_subject]
    metrics = {
        "study": cfg["study"], "synthetic_data": synthetic, "classes": classes,
        "n_subjects": len(cohort), "subjects_per_class": {c: int(np.sum(y == c)) for c in classes},
        "cv": {**cv, "n_folds_total": len(folds), "mean_train_subjects": n_train,
               "mean_test_subjects": n_test},
        "routes": per_route, "best_route": best, "paired_comparisons": comparisons,
        "permutation_test": permutation, "extract_seconds": extract_time,
        "excluded_subjects": [str(p) for p in excluded],
        "warnings": [str(p) for p in problems if p.severity == "warning"],
        "flat_dropped": study.check.flat_dropped,
        "bad_channels_dropped": study.check.bads_dropped,
        "bad_annotations": bad_annotation_summary(study.check, cfg["windows"]),
    }
    manifest = {
        "neurodx_version": __version__, "command": argv or sys.argv, "git_commit": _git_commit(),
        "started": started.isoformat(), "finished": None,
        "seed": int(cfg["seed"]), "config": cfg.data,
        "config_file": str(cfg.path) if cfg.path else None, "config_sha256": cfg.sha256,
        "cohort": str(cohort.root), "synthetic_data": synthetic,
        "inputs_sha256": _input_hashes(cohort), "versions": _versions(),
        "platform": {"system": platform.platform(), "machine": platform.machine(),
                     "cpu_count": os.cpu_count()},
        "channel_names": channel_names, "sfreq": sfreq_out, "n_regions": n_regions,
        "flat_dropped": study.check.flat_dropped,
        "bad_channels_dropped": study.check.bads_dropped,
        "bad_annotations": metrics["bad_annotations"],
        "folds": [{"repeat": f.repeat, "fold": f.fold,
                   "test": sorted(pids[f.test].tolist())} for f in folds],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    predictions.to_csv(buf, index=False, float_format="%.6g")
    atomic_write_text(out_dir / "predictions.csv", buf.getvalue())
    atomic_write_text(out_dir / "metrics.json", dumps(metrics, indent=2, default=str) + "\n")
    if diagnostics:
        # Full spectra (eigenvalues, SLQ nodes) of every fold's networks; metrics.json
        # keeps the per-layer summary.
        atomic_write_text(out_dir / "diagnostics.json",
                          dumps(diagnostics, default=str) + "\n")
    result = ComparisonResult(out_dir, predictions, metrics, manifest, excluded=excluded,
                              routes=all_routes, diagnostics=diagnostics)
    from .report import write_report

    result.report = write_report(result, cohort, context, all_routes, extracted, pipeline,
                                 spectra=spectra, feature_names=feature_names)
    manifest["finished"] = dt.datetime.now(dt.timezone.utc).isoformat()
    atomic_write_text(out_dir / "manifest.json", dumps(manifest, indent=2, default=str) + "\n")
    return result
