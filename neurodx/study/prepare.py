"""A study made ready to run: its checked cohort, context and routes.

``neurodx compare`` (cross-validate every route) and ``neurodx train`` (fit one
route on every subject) start the same way, here: load and check the cohort the
config names, take the class labels, channel names, sampling rate or region count
from it, and let the study module build its routes from that context.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..config import Config
from ..errors import CohortError, ConfigError, Problem
from ..io import check_cohort, load_cohort
from ..io.units import check_intensity_setting
from .routes import Route

__all__ = ["PreparedStudy", "prepare_cohort", "prepare_study"]


@dataclass
class PreparedStudy:
    """Outcome of :func:`prepare_study`.

    Attributes
    ----------
    cohort : Cohort
        The usable subjects (those with errors removed under ``cohort.skip_bad``).
    check : CohortCheck
        The full check, with every problem found.
    spec : EEGSpec | RegionSpec | VolumeSpec
        The config's expectations for the cohort's modality.
    context : StudyContext
        What the study module saw when it built its routes.
    routes : list of Route
        The routes asked for (all of the study's by default).
    pipeline : module
        The study module (``pipelines/<study>.py``).
    """

    cohort: object
    check: object
    spec: object
    context: object
    routes: list[Route]
    pipeline: object
    problems: list[Problem] = field(default_factory=list)


def prepare_cohort(config: Config, *, n_jobs: int = 1, skip_bad: bool = False):
    """Load and check a config's cohort and derive the study context from it.

    Returns ``(cohort, check, spec, context)``: the usable subjects, the full check,
    the expectations for the cohort's modality, and the :class:`StudyContext`.

    Subjects left out by ``flat_policy: skip_subject`` are removed whatever
    ``skip_bad`` says: the user chose that policy.

    Raises
    ------
    CohortError
        When the cohort has errors and ``skip_bad`` is false.
    """
    from .compare import StudyContext, study_spec

    cfg = config
    if cfg["cohort"]["path"] is None:
        raise ConfigError("no cohort: set cohort.path in the config or pass --cohort")
    cohort = load_cohort(cfg["cohort"]["path"], groups=cfg["cohort"]["groups"],
                         modality=cfg["cohort"]["modality"],
                         group_column=cfg["cohort"]["group_column"],
                         site_column=cfg["cohort"]["site_column"],
                         allow_outside=cfg["cohort"]["allow_outside"])
    spec = study_spec(cfg, cohort.modality)
    check = check_cohort(cohort, spec, n_jobs=n_jobs)
    if cohort.modality == "volume":
        # A config forcing HU on PNG/JPEG (or display on DICOM CT) is the config's error.
        check_intensity_setting(check.recordings, spec.intensity)
    if check.has_errors and not skip_bad:
        listed = "; ".join(str(p) for p in check.errors[:5])
        raise CohortError(f"{cohort.root}: {len(check.errors)} problem(s) stop this study "
                          f"({listed}). Run `neurodx inspect` for the full list, or set "
                          "cohort.skip_bad: true to run on the usable subjects.")
    if check.has_errors or check.skipped:
        cohort = check.usable_cohort()
    classes = sorted({s.group for s in cohort})
    context = StudyContext(cfg, classes, cohort.modality, check.channel_names, check.sfreq,
                           check.n_regions, int(cfg["seed"]), n_jobs,
                           flat_dropped=list(check.flat_dropped),
                           region_columns=check.region_columns)
    return cohort, check, spec, context


def prepare_study(config: Config, *, n_jobs: int = 1,
                  routes: list[str] | None = None) -> PreparedStudy:
    """Load and check a config's cohort, then build the study's routes.

    Parameters
    ----------
    config : Config
        A validated configuration (see :func:`neurodx.config.load_config`).
    n_jobs : int
        Files checked in parallel; also given to the routes through the context.
    routes : list of str, optional
        Keep only these routes (an unknown name is a :class:`ConfigError`).

    Raises
    ------
    CohortError
        When the cohort has errors and ``cohort.skip_bad`` is false.
    """
    from .compare import load_pipeline

    cfg = config
    if cfg["cohort"]["path"] is None:
        raise ConfigError("no cohort: set cohort.path in the config or pass --cohort")
    if cfg["pipeline"] is None:
        raise ConfigError("the config names no pipeline module (key 'pipeline')")
    cohort, check, spec, context = prepare_cohort(cfg, n_jobs=n_jobs,
                                                  skip_bad=cfg["cohort"]["skip_bad"])
    pipeline = load_pipeline(cfg["pipeline"])
    built = pipeline.build_routes(context)
    if routes:
        unknown = sorted(set(routes) - {r.name for r in built})
        if unknown:
            raise ConfigError(f"unknown route(s) {unknown}; this study has "
                              f"{[r.name for r in built]}")
        built = [r for r in built if r.name in routes]
    if not built:
        raise ConfigError("the study defines no route")
    return PreparedStudy(cohort, check, spec, context, built, pipeline, list(check.problems))
