"""Subject x feature tables: RMT features of a whole cohort, one row per subject.

Two feature families:

* **LES**: per band, the linear eigenvalue statistics of the window correlation
  spectra, summarised over windows (``alpha_vne_mean``, ``beta_logdet_sd``...); the
  settings of a config's ``rmt_les`` route are used when it has one. The statistics
  are measured against one MP reference for the whole table, as in the route: the
  reference ratio ``c = N / n_eff`` (``n_eff`` the median effective sample size) and
  the null moments are fitted on **the cohort given** (every subject in the table),
  exactly as ``make_les_pipeline().fit`` on those subjects. The reference is reported
  (:attr:`FeatureTable.reference`); a downstream classifier evaluated on this table
  should know that it was fitted on all rows.
* **cleaned covariance**: per band, the RMT-cleaned covariance (Ledoit-Wolf 2020
  nonlinear shrinkage by default, or the config's ``rmt_tangent`` route settings)
  mapped to its matrix logarithm, upper triangle (``alpha_logcov_Fp1_Fp2``). Each is
  computed from one subject alone: the log-Euclidean map needs no reference point,
  unlike a cohort tangent space.

4-D fMRI runs (volume cohorts) are first reduced to region time series with
``volume.atlas`` (nilearn, as the ``meth_fmri`` RMT routes), then treated as region
series. Recordings failing the cohort checks or the extraction are reported and skipped.
The table is written as one file (:func:`write_features`) or as a BIDS derivatives
dataset, one TSV + JSON sidecar per subject (:func:`write_bids_derivatives`).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from ._atomic import atomic_write_bytes, atomic_write_text
from ._logging import progress as progress_bar, verbose as _verbose
from .config import Config
from .errors import ConfigError, NeurodxError, Problem
from .io.bids_derivatives import write_feature_derivatives
from .rmt import (RMT_ROUTE_KINDS, les_subject_features, make_les_pipeline,
                  make_rmt_tangent_pipeline, shared_band_scatter)
from .study import StudyContext, build_from_config, configured_routes, get_modality, \
    is_synthetic, load_subject, prepare_cohort, rmt_settings

__all__ = ["FeatureTable", "extract_features", "log_euclidean_features", "write_features",
           "check_output_path", "write_bids_derivatives"]

COVARIANCE_FEATURES = ("logeuclid", "none")


@dataclass
class FeatureTable:
    """Features of a cohort.

    Attributes
    ----------
    table : DataFrame
        One row per subject: ``participant_id``, ``group``, ``site``, then features.
    failures : list of Problem
        Subjects left out (cohort check errors or extraction failures), by subject ID.
    reference : dict
        The MP reference of the LES features: ``fitted_on`` (``"cohort"``: every
        subject of the table), ``n_subjects`` and ``n_eff`` (band -> reference
        effective samples per window, the median over those subjects).
    cohort : Cohort or None
        The cohort the table describes (subjects' recordings, for provenance).
    bands : dict
        ``{band: (low, high) or None}`` of the features.
    les_standardized : bool
        Whether LES features are in standard deviations of the MP null.
    """

    table: pd.DataFrame
    failures: list[Problem] = field(default_factory=list)
    reference: dict = field(default_factory=dict)
    cohort: object = None
    bands: dict = field(default_factory=dict)
    les_standardized: bool = False


def log_euclidean_features(covs, bands, channel_names) -> tuple[np.ndarray, list[str]]:
    """Upper triangles of ``logm(C)`` per band, with names ``<band>_logcov_<ch1>_<ch2>``.

    Parameters
    ----------
    covs : ndarray, shape (n_bands, n_channels, n_channels)
        SPD matrices.
    """
    covs = np.asarray(covs, dtype=np.float64)
    vals, vecs = np.linalg.eigh(covs)
    if np.any(vals <= 0):
        raise ValueError("a cleaned covariance is not positive definite")
    logm = (vecs * np.log(vals)[..., None, :]) @ np.swapaxes(vecs, -1, -2)
    iu = np.triu_indices(covs.shape[-1])
    names = [f"{b}_logcov_{channel_names[i]}_{channel_names[j]}"
             for b in bands for i, j in zip(*iu)]
    return logm[:, iu[0], iu[1]].ravel(), names


def _routes(context: StudyContext, covariance: str):
    """The LES route and the cleaned-covariance route, from the config's settings."""
    cfg = context.config
    # The same study settings (bands, rate, windows) as the routes of build_routes.
    bands = get_modality(context.modality).rmt_bands(cfg)
    by_kind = {}
    for name, params in configured_routes(context).items():
        by_kind.setdefault(params["kind"], (name, params))
    les_name, les_params = by_kind.get("rmt_les", ("rmt_les", {"kind": "rmt_les"}))
    les = build_from_config(les_name, make_les_pipeline, les_params,
                            RMT_ROUTE_KINDS["rmt_les"][1],
                            **rmt_settings(les_params, make_les_pipeline, context))
    if covariance == "none":
        return les, None, list(bands)
    # Without an rmt_tangent route: nonlinear shrinkage on disjoint windows.
    cov_name, cov_params = by_kind.get("rmt_tangent", ("rmt_tangent",
                                                       {"kind": "rmt_tangent",
                                                        "method": "nonlinear",
                                                        "overlap": 0.0}))
    cov = build_from_config(cov_name, make_rmt_tangent_pipeline, cov_params,
                            RMT_ROUTE_KINDS["rmt_tangent"][1],
                            **rmt_settings(cov_params, make_rmt_tangent_pipeline, context))
    return les, cov, list(bands)


def _subject_features(paths, context, spec, les, cov, bands):
    """One subject's window spectra (for the LES step) and cleaned-covariance features."""
    data = get_modality(context.modality).feature_input(load_subject(paths, context, spec),
                                                        context.config)
    # one band representation of the recording serves both families when their
    # windows nest (see neurodx.rmt.shared_band_scatter)
    shared, usable = shared_band_scatter(data, [les.estimator.steps[0][1],
                                                None if cov is None else cov.estimator.steps[0][1]])
    spectra = les.extract(shared if usable[0] else data)
    channels = (list(data.ch_names) if hasattr(data, "ch_names")
                else [f"r{i}" for i in range(np.shape(data)[0])])
    if cov is None:
        return spectra, np.empty(0), [], channels
    cov_values, cov_names = log_euclidean_features(cov.extract(shared if usable[1] else data),
                                                   bands, channels)
    return spectra, cov_values, cov_names, channels


def _safe_subject_features(pid, *args):
    try:
        return pid, _subject_features(*args), None
    except (NeurodxError, ValueError, OSError) as err:
        # The message names the file, never header contents (see neurodx.io).
        return pid, None, f"feature extraction failed: {err}"
    except MemoryError:
        return pid, None, "feature extraction failed: out of memory (try fewer --jobs)"


@_verbose
def extract_features(config: Config, *, covariance: str = "logeuclid", n_jobs: int = 1,
                     progress: bool = True, verbose=None) -> FeatureTable:
    """Compute the RMT feature table of the config's cohort.

    Parameters
    ----------
    config : Config
        Cohort, EEG/region expectations, preprocessing, windows and bands, and
        optionally ``rmt_les`` / ``rmt_tangent`` routes whose settings are used.
    covariance : {"logeuclid", "none"}
        Cleaned-covariance features as log-Euclidean upper triangles, or none (the
        table then has LES features only; 64 channels give 2,080 columns per band).
    n_jobs : int
        Subjects processed in parallel (joblib).
    progress : bool
        Allow the progress bar on stderr (drawn only on a terminal, unless quiet).
    verbose : bool | str | int | None
        Log level for this call (see :func:`neurodx.set_log_level`).
    """
    if covariance not in COVARIANCE_FEATURES:
        raise ConfigError(f"covariance must be one of {', '.join(COVARIANCE_FEATURES)}, "
                          f"got {covariance!r}")
    # Files failing the checks are left out and listed, whatever cohort.skip_bad says.
    usable, check, spec, context = prepare_cohort(config, n_jobs=n_jobs, skip_bad=True)
    get_modality(usable.modality).check_features_config(config)
    failures = [p for p in check.problems if p.excludes_subject]
    les, cov, bands = _routes(context, covariance)
    jobs = (delayed(_safe_subject_features)(s.participant_id, s.paths, context, spec, les, cov,
                                            bands) for s in usable)
    results = {}
    stream = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    for pid, out, error in progress_bar(stream, total=len(usable), desc="features",
                                        unit="subject", enabled=progress):
        if error is not None:
            failures.append(Problem(pid, error))
        else:
            results[pid] = out
    kept, channels = [], None
    for s in usable:
        if s.participant_id not in results:
            continue
        subject_channels = results[s.participant_id][3]
        if channels is None:
            channels = subject_channels
        elif subject_channels != channels:
            failures.append(Problem(s.participant_id, "channels differ from the first "
                                                      "subject's (names or order)"))
            continue
        kept.append(s)
    if not kept:
        listed = "; ".join(str(p) for p in failures[:5])
        raise NeurodxError(f"no subject could be featurised ({listed})")
    # One MP reference for the whole table, learnt from every subject in it.
    les_values, les_names, les_step = les_subject_features(
        les.estimator, [results[s.participant_id][0] for s in kept])
    rows = []
    for s, les_row in zip(kept, les_values):
        _, cov_values, cov_names, _ = results[s.participant_id]
        rows.append({"participant_id": s.participant_id, "group": s.group, "site": s.site,
                     **dict(zip(les_names, les_row)), **dict(zip(cov_names, cov_values))})
    reference = {"fitted_on": "cohort", "n_subjects": len(kept),
                 "n_eff": {b: float(v) for b, v in zip(les_step.bands_, les_step.n_eff_)}}
    return FeatureTable(pd.DataFrame(rows), failures, reference, cohort=usable,
                        bands=get_modality(context.modality).rmt_bands(config),
                        les_standardized=bool(les_step.standardize))


def write_bids_derivatives(result: FeatureTable, out: str | Path) -> Path:
    """Write ``result`` as the BIDS derivatives dataset ``OUT/derivatives/neurodx/``.

    ``out`` is a BIDS root, usually the source dataset itself; see
    :mod:`neurodx.io.bids_derivatives` for the layout. Returns the derivatives folder.
    """
    if result.cohort is None:
        raise ConfigError("this feature table carries no cohort (make it with "
                          "extract_features) and cannot name its sources")
    return write_feature_derivatives(result.table, out, result.cohort, bands=result.bands,
                                     standardized=result.les_standardized,
                                     reference=result.reference,
                                     synthetic=is_synthetic(result.cohort))


def check_output_path(path: str | Path) -> str:
    """The table format of ``path`` (``.csv``, ``.tsv``, ``.parquet``), or a ConfigError."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".tsv", ".parquet"):
        raise ConfigError(f"{path}: unknown output format {suffix!r} (use .csv, .tsv or "
                          ".parquet)")
    if suffix == ".parquet":
        # Checked here, at argument parsing, so a missing extra fails before minutes of work.
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError(f"{path}: writing .parquet needs the parquet extra "
                              "(pip install neurodx[parquet]); or write .csv") from None
    return suffix


def write_features(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a feature table atomically as ``.csv``, ``.tsv`` or ``.parquet``."""
    path = Path(path)
    suffix = check_output_path(path)
    if suffix == ".csv":
        return atomic_write_text(path, table.to_csv(index=False, float_format="%.9g"))
    if suffix == ".tsv":
        return atomic_write_text(path, table.to_csv(index=False, sep="\t", float_format="%.9g"))
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    return atomic_write_bytes(path, buf.getvalue())
