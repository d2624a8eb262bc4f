"""A config becomes a cohort, a context and routes.

* :mod:`~neurodx.study.modalities` -- one :class:`Modality` per kind of recording
  (eeg, regions, volume), in one registry (:func:`get_modality`);
* :mod:`~neurodx.study.context` -- :class:`StudyContext` and study modules
  (:func:`load_pipeline`);
* :mod:`~neurodx.study.prepare` -- the checked cohort and the study's routes
  (:func:`prepare_study`), one subject loaded for the routes (:func:`load_subject`);
* :mod:`~neurodx.study.routes` -- :class:`Route`, the route kinds, and the default
  :func:`build_routes`;
* :mod:`~neurodx.study.provenance` -- versions, thread counts, git commit, input hashes,
  synthetic flag.
"""
from .context import StudyContext, load_pipeline
from .modalities import MODALITIES, Modality, get_modality
from .prepare import (PreparedStudy, extract_subject, first_spectra_step, load_subject,
                      make_context, prepare_cohort, prepare_study, study_spec)
from .provenance import git_commit, input_hashes, is_synthetic, thread_counts, versions
from .routes import (FROM_PRESET, Route, adapt_to_recordings, build_braindecode_route,
                     build_from_config, build_preset_route, build_routes, configured_routes,
                     preset_routes, rmt_settings)

__all__ = ["StudyContext", "make_context", "load_pipeline", "MODALITIES", "Modality",
           "get_modality", "PreparedStudy", "prepare_cohort", "prepare_study", "study_spec",
           "load_subject", "extract_subject", "first_spectra_step", "versions", "git_commit",
           "thread_counts", "input_hashes", "is_synthetic", "Route", "build_routes",
           "build_from_config", "build_preset_route", "build_braindecode_route", "preset_routes",
           "adapt_to_recordings", "FROM_PRESET", "rmt_settings", "configured_routes"]
