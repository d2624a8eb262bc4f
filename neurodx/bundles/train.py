"""Fit one route of a study on every usable subject and write it as a bundle.

The study is prepared exactly as ``neurodx compare`` prepares it
(:func:`neurodx.study.prepare_study`): same cohort checks, same
context, same routes. Each subject is loaded and passed through the route's
stateless prefix once (in parallel); the rest of the route is fitted on all of
them (for ``rmt_les`` this includes the LES step's MP reference, ``n_eff_`` and
the null moments, which the bundle stores: a scored recording is measured against
the training subjects' reference, never refitted on itself). A region step reading
``volume.atlas`` is fitted once and stored with the atlas's labels as arrays, so
scoring needs neither the atlas file nor the setting; a parcellation fitted on the
subjects is stored the same way (arrays, no pickle). A route tuned by nested
cross-validation (``tune`` in the config) is tuned here by one grid search over all
subjects, and the chosen setting is recorded.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from .._logging import logger, verbose as _verbose
from .._threads import single_threaded_blas
from ..config import Config
from ..preprocessing.regions_from_volume import RegionsFromVolume
from ..study import Route, input_hashes, is_synthetic, load_subject, prepare_study
from .expected import expected_input
from .store import Bundle, _is_cnn, load_bundle, save_bundle

__all__ = ["train_route"]


def _reads_atlas(prefix: Pipeline) -> bool:
    return any(isinstance(step, RegionsFromVolume) and step.atlas is not None
               for _, step in prefix.steps)


def _extract(paths, context, spec, route: Route):
    return route.extract(load_subject(paths, context, spec))


@_verbose
def train_route(config: Config, route: str, out_dir: str | Path, *, n_jobs: int = 1,
                argv: list[str] | None = None, sign_key: bytes | None = None,
                verbose=None) -> Bundle:
    """Fit route ``route`` of a study on all usable subjects and save it to ``out_dir``.

    Parameters
    ----------
    config : Config
        A validated configuration (see :func:`neurodx.config.load_config`).
    route : str
        Name of the route in the config.
    out_dir : path
        Bundle folder to write (see :func:`neurodx.bundles.save_bundle`).
    n_jobs : int
        Subjects loaded and featurised in parallel.
    argv : list of str, optional
        The command line, recorded in the manifest.
    sign_key : bytes, optional
        Sign the bundle with this key (see :mod:`neurodx.bundles.signing`).
    verbose : bool | str | int | None
        Log level for this call (see :func:`neurodx.set_log_level`).

    Returns
    -------
    Bundle
        The bundle as written, loaded back (so it is known to load).
    """
    # Small batched decompositions: BLAS threads only slow them (see neurodx._threads).
    with single_threaded_blas():
        return _train_route(config, route, out_dir, n_jobs=n_jobs, argv=argv,
                            sign_key=sign_key)


def _train_route(config, route, out_dir, *, n_jobs, argv, sign_key) -> Bundle:
    study = prepare_study(config, n_jobs=n_jobs, routes=[route])
    r, cohort, context = study.routes[0], study.cohort, study.context
    y = np.asarray([s.group for s in cohort], dtype=object)
    logger.info("training route %s on %d subjects", r.name, len(cohort))
    t0 = time.perf_counter()
    X = Parallel(n_jobs=n_jobs)(delayed(_extract)(s.paths, context, study.spec, r)
                                for s in cohort)
    extract_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    fitted = clone(r.cv_estimator)
    target = fitted.estimator if isinstance(fitted, GridSearchCV) else fitted
    # CNN estimators name subjects in messages and in their inner validation split;
    # without ids they would take file names, which repeat across subjects (".../dicom").
    # IDs reach them one way, as (subject_id, data) pairs (neurodx.models.subjects).
    if _is_cnn(target) and not (X and isinstance(X[0], tuple)):
        X = list(zip(cohort.participant_ids, X))
    fitted.fit(X, y)
    fit_seconds = time.perf_counter() - t0
    extra = {}
    if isinstance(fitted, GridSearchCV):
        extra["best_params"] = dict(fitted.best_params_)
        fitted = fitted.best_estimator_
    stateless = r.stateless_steps
    if stateless:
        prefix = clone(r.estimator[:stateless])
        if _reads_atlas(prefix):
            # The prefix reads volume.atlas when fitted: fit it once here so the bundle
            # stores the atlas's labels (arrays) and scoring never needs the file.
            prefix.fit([load_subject(next(iter(cohort)).paths, context, study.spec)])
            stateless = 0
        estimator = Pipeline(list(prefix.steps) + list(fitted.steps),
                             memory=r.estimator.memory)
    else:
        estimator = fitted
    trained = Route(r.name, estimator, stateless, description=r.description)
    training = {
        "n_subjects": len(cohort),
        "subjects_per_class": {c: int(np.sum(y == c)) for c in context.classes},
        "excluded_subjects": len(cohort.excluded),
        "cohort": str(cohort.root), "synthetic_data": is_synthetic(cohort),
        "inputs_sha256": input_hashes(cohort),
        "extract_seconds": round(extract_seconds, 3), "fit_seconds": round(fit_seconds, 3),
        "command": argv or sys.argv, "cv_metrics": None,
    }
    save_bundle(trained, context, config, out_dir,
                expected_input=expected_input(context, config,
                                              volume_shape=study.check.volume_shape,
                                              estimator=estimator),
                training=training, extra=extra, sign_key=sign_key)
    return load_bundle(out_dir, key=sign_key)
