"""A study made ready to run: its checked cohort, context and routes.

``neurodx compare`` (cross-validate every route) and ``neurodx train`` (fit one
route on every subject) start the same way, here: load and check the cohort the
config names, take the class labels, channel names, sampling rate or region count
from it, and build the study's routes from that context (the config's study module,
or :func:`~neurodx.study.routes.build_routes` without one).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sklearn.base import clone

from ..config import Config
from ..errors import CohortError, ConfigError, Problem
from ..io import check_cohort, load_cohort
from ..rmt import shared_band_scatter
from .context import StudyContext, load_pipeline
from .modalities import get_modality
from .routes import Route, build_routes

__all__ = ["PreparedStudy", "prepare_cohort", "prepare_study", "study_spec", "load_subject",
           "extract_subject", "first_spectra_step"]


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
    pipeline : module or None
        The study module (``pipelines/<study>.py``); None when the config names none
        and the routes are :func:`~neurodx.study.routes.build_routes`'s.
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
    cfg = config
    if cfg["cohort"]["path"] is None:
        raise ConfigError("no cohort: set cohort.path in the config or give the cohort "
                          "on the command line")
    cohort = load_cohort(cfg["cohort"]["path"], groups=cfg["cohort"]["groups"],
                         modality=cfg["cohort"]["modality"],
                         group_column=cfg["cohort"]["group_column"],
                         site_column=cfg["cohort"]["site_column"],
                         allow_outside=cfg["cohort"]["allow_outside"])
    modality = get_modality(cohort.modality)
    spec = modality.spec(cfg)
    check = check_cohort(cohort, spec, n_jobs=n_jobs)
    modality.check_settings(check, spec)
    if check.has_errors and not skip_bad:
        listed = "; ".join(str(p) for p in check.errors[:5])
        raise CohortError(f"{cohort.root}: {len(check.errors)} problem(s) stop this study "
                          f"({listed}). Run `neurodx inspect` for the full list, or set "
                          "cohort.skip_bad: true to run on the usable subjects.")
    if check.has_errors or check.skipped:
        cohort = check.usable_cohort()
    classes = sorted({s.group for s in cohort})
    context = make_context(cfg, classes, cohort.modality, check.channel_names, check.sfreq,
                           check.n_regions, n_jobs=n_jobs,
                           flat_dropped=list(check.flat_dropped),
                           region_columns=check.region_columns, cohort_root=cohort.root)
    return cohort, check, spec, context


def make_context(config: Config, classes, modality: str, channel_names, sfreq, n_regions, *,
                 n_jobs: int = 1, flat_dropped=(), region_columns=None,
                 cohort_root=None) -> StudyContext:
    """A :class:`StudyContext` with the study settings resolved from ``config``.

    The one place that reads ``seed``, ``study``, ``windows.length``/``overlap`` and the
    resampling rate for the steps that share them (a study run, or a bundle's saved
    config when it scores).
    """
    return StudyContext(config, list(classes), modality, channel_names, sfreq, n_regions,
                        int(config["seed"]), n_jobs, flat_dropped=list(flat_dropped),
                        region_columns=region_columns, study=config.study_name,
                        window_length=config["windows"]["length"],
                        window_overlap=config["windows"]["overlap"],
                        resample_to=get_modality(modality).resample_rate(config),
                        cohort_root=cohort_root)


def prepare_study(config: Config, *, n_jobs: int = 1,
                  routes: list[str] | None = None) -> PreparedStudy:
    """Load and check a config's cohort, then build the study's routes.

    The routes come from the study module the config names (``pipeline:``), or,
    without one, from :func:`~neurodx.study.routes.build_routes` (every route of the
    config's ``routes:`` section).

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
    cfg = config
    if cfg["cohort"]["path"] is None:
        raise ConfigError("no cohort: set cohort.path in the config or give the cohort "
                          "on the command line")
    cohort, check, spec, context = prepare_cohort(cfg, n_jobs=n_jobs,
                                                  skip_bad=cfg["cohort"]["skip_bad"])
    pipeline = load_pipeline(cfg["pipeline"]) if cfg["pipeline"] is not None else None
    built = pipeline.build_routes(context) if pipeline is not None else build_routes(context)
    if routes:
        unknown = sorted(set(routes) - {r.name for r in built})
        if unknown:
            raise ConfigError(f"unknown route(s) {unknown}; this study has "
                              f"{[r.name for r in built]}")
        built = [r for r in built if r.name in routes]
    if not built:
        raise ConfigError("the study defines no route (add one to the config's routes "
                          "section)")
    return PreparedStudy(cohort, check, spec, context, built, pipeline, list(check.problems))


def study_spec(cfg: Config, modality: str):
    """The expectations (EEGSpec, RegionSpec or VolumeSpec) of a config for a modality."""
    return get_modality(modality).spec(cfg)


def load_subject(paths, context: StudyContext, spec):
    """Load one subject's recording(s) ready for the routes.

    EEG: a preprocessed :class:`mne.io.Raw`; region time series: an array
    ``(n_regions, n_times)``; volumes: the path of the subject's one volume (file or
    series folder), read lazily by the routes.
    """
    return get_modality(context.modality).load(paths, context, spec)


def first_spectra_step(routes):
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


def extract_subject(pid, paths, context, spec, routes, spectra_step=None):
    """One subject's stateless route outputs, and its window spectra when asked.

    Returns ``(outputs, feature_names, spectra)``: one item per route of each.
    """
    data = get_modality(context.modality).route_input(pid, load_subject(paths, context, spec))
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
