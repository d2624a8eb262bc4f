"""Ready-made sklearn Pipelines for the RMT routes and their pyRiemann peer.

Every factory returns a plain :class:`sklearn.pipeline.Pipeline` whose input is
the same ``X`` (a list of recordings: mne Raw objects, ``(n_channels, n_times)``
arrays with ``sfreq``, or windowed arrays) and whose last step is a classifier, so
a comparison harness can cross-validate them side by side on subject folds.

Routes
------
* :func:`make_les_pipeline` -- window spectra -> LES bank -> subject statistics ->
  scaling -> classifier.
* :func:`make_rmt_tangent_pipeline` -- RMT-cleaned band covariances -> per-band
  tangent space -> scaling -> classifier.
* :func:`make_tangent_space_pipeline` -- pyRiemann ``Covariances`` per band ->
  per-band tangent space -> scaling -> classifier (the peer).
"""
from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..errors import ConfigError
from ..preprocessing import check_bands
from .aggregation import SubjectAggregator
from .classifiers import make_classifier
from .covariances import BandCovariances, BandTangentSpace, RMTCovariances
from .les import LinearEigenvalueStatistics
from .ring_law import ring_step
from .les_tangent import make_les_tangent_pipeline
from .nonzero_spectrum import make_les_nonzero_pipeline
from .relative_spectra import make_les_relative_pipeline
from .spectra import EigenSpectra

__all__ = ["make_classifier", "make_les_pipeline", "make_rmt_tangent_pipeline",
           "make_tangent_space_pipeline", "les_subject_features", "RMT_ROUTE_KINDS"]


def _band_names(bands):
    return list(check_bands(bands))


def make_les_pipeline(*, bands=None, sfreq=None, window=2.0, overlap=0.5, kind="correlation",
                      n_eff="spectral", test_functions=None, standardize=True,
                      stats=("mean", "sd", "median", "iqr"), classifier="svc",
                      random_state=0, n_jobs=1) -> Pipeline:
    """LES route: ``EigenSpectra -> LinearEigenvalueStatistics -> SubjectAggregator ->
    StandardScaler -> classifier``.

    Parameters are passed to the steps of the same names (see their docstrings);
    ``random_state`` seeds the MP null of the LES step and the classifier; the LES
    step's ring-law products take windows ``ring_step(overlap)`` apart (disjoint).
    """
    return Pipeline([
        ("spectra", EigenSpectra(bands=bands, sfreq=sfreq, window=window, overlap=overlap,
                                 kind=kind, n_eff=n_eff, n_jobs=n_jobs)),
        ("les", LinearEigenvalueStatistics(test_functions=test_functions,
                                           standardize=standardize,
                                           random_state=random_state,
                                           ring_step=ring_step(overlap))),
        ("aggregate", SubjectAggregator(stats=stats)),
        ("scale", StandardScaler()),
        ("clf", make_classifier(classifier, random_state)),
    ])


def make_rmt_tangent_pipeline(*, method="clip", kind="covariance", bands=None, sfreq=None,
                              window=2.0, overlap=0.0, n_eff="spectral", metric="riemann",
                              classifier="svc", random_state=0, n_jobs=1) -> Pipeline:
    """RMT-cleaned tangent-space route: ``RMTCovariances -> BandTangentSpace ->
    StandardScaler -> classifier``.

    For already windowed input (one ``"broadband"`` band) pass
    ``bands={"broadband": None}`` so feature names match.
    """
    return Pipeline([
        ("covariances", RMTCovariances(method=method, kind=kind, bands=bands, sfreq=sfreq,
                                       window=window, overlap=overlap, n_eff=n_eff,
                                       n_jobs=n_jobs)),
        ("tangent", BandTangentSpace(metric=metric, band_names=_band_names(bands))),
        ("scale", StandardScaler()),
        ("clf", make_classifier(classifier, random_state)),
    ])


def make_tangent_space_pipeline(*, estimator="oas", bands=None, sfreq=None, window=None,
                                overlap=0.0, metric="riemann", classifier="svc",
                                random_state=0, n_jobs=1) -> Pipeline:
    """Plain pyRiemann peer route: ``BandCovariances (pyRiemann Covariances) ->
    BandTangentSpace -> StandardScaler -> classifier``."""
    return Pipeline([
        ("covariances", BandCovariances(estimator=estimator, bands=bands, sfreq=sfreq,
                                        window=window, overlap=overlap, n_jobs=n_jobs)),
        ("tangent", BandTangentSpace(metric=metric, band_names=_band_names(bands))),
        ("scale", StandardScaler()),
        ("clf", make_classifier(classifier, random_state)),
    ])


#: Route kinds of the RMT family: ``kind -> (factory, stateless_steps)``. The leading
#: ``stateless_steps`` steps learn nothing from other subjects (window spectra, band
#: covariances), so a comparison may run them once per subject; everything after them
#: is fitted inside each fold. The LES step is not stateless: it learns the reference
#: MP ratio (``n_eff_``, the median over the training subjects) and the null moments
#: from the subjects it is fitted on, so it runs in the fold, as
#: ``make_les_pipeline().fit`` does in Python.
RMT_ROUTE_KINDS = {"rmt_les": (make_les_pipeline, 1),
                   "rmt_tangent": (make_rmt_tangent_pipeline, 1),
                   "tangent_space": (make_tangent_space_pipeline, 1),
                   # LES on MP-bounded pooled windows + channel powers + cleaned tangent
                   # space (neurodx.rmt.les_tangent; measured in validation/research)
                   "rmt_les_tangent": (make_les_tangent_pipeline, 1),
                   # eigenvalue statistics relative to class means (neurodx.rmt.relative_spectra)
                   "rmt_les_relative": (make_les_relative_pipeline, 1),
                   # LES of the non-zero part of c > 1 spectra against the dual MP law
                   # (neurodx.rmt.nonzero_spectrum: fewer time points than regions)
                   "rmt_les_nonzero": (make_les_nonzero_pipeline, 1)}


def les_subject_features(pipeline: Pipeline, spectra
                         ) -> tuple[np.ndarray, list[str], LinearEigenvalueStatistics]:
    """Subject-level LES features of a cohort, measured against that cohort's reference.

    Fits a fresh copy of the ``les`` and ``aggregate`` steps of an LES route
    (:func:`make_les_pipeline`) on ``spectra`` and transforms them, so every subject is
    measured against the same MP reference: ``n_eff_``, the median effective sample
    size of these subjects, and its null moments. For descriptive tables and figures
    of one cohort (``neurodx features``, the report); a classifier must fit the
    reference on its training subjects only, as the route does.

    Parameters
    ----------
    pipeline : Pipeline
        An LES route; only its ``les`` and ``aggregate`` steps are used.
    spectra : list of WindowSpectra
        One per subject (the output of its ``spectra`` step).

    Returns
    -------
    features : ndarray, shape (n_subjects, n_features)
    names : list of str
        ``"<band>_<function>_<stat>"``, in column order.
    les : LinearEigenvalueStatistics
        The fitted LES step: its ``n_eff_`` and ``bands_`` state the reference.
    """
    names = [name for name, _ in pipeline.steps]
    if "les" not in names or "aggregate" not in names:
        raise ConfigError(f"not an LES route: steps {names} lack 'les' and 'aggregate'")
    part = clone(pipeline[names.index("les"):names.index("aggregate") + 1])
    values = np.asarray(part.fit_transform(spectra), dtype=np.float64)
    return values, [str(n) for n in part.get_feature_names_out()], part.named_steps["les"]
