"""The study config, declared once: every section, key, type, range, choice and default.

The models here are the only place a key of ``configs/*.yaml`` is declared; the
loader (:mod:`neurodx.config.loader`), the JSON Schema for editors
(``neurodx config-schema``) and the documentation's config reference are derived
from them. Route parameters are declared per route kind in
:mod:`neurodx.config.routes`.
"""
from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from ..io.quality import BAD_CHANNEL_POLICIES, FLAT_POLICIES
from ..io.text_eeg import TEXT_UNITS
from ..io.units import INTENSITY_SETTINGS
from ..preprocessing.bands import DEFAULT_BANDS
from ..preprocessing.regions_from_volume import PARCELLATION_METHODS
from ._fields import Section, setting

__all__ = ["StudyConfig", "CohortSection", "EEGSection", "RegionsSection", "VolumeSection",
           "PreprocessingSection", "WindowsSection", "CVSection", "StatisticsSection",
           "MODALITIES", "CV_SCHEMES", "SEED_MAX"]

#: Kinds of recording a cohort holds.
MODALITIES = ("eeg", "regions", "volume")
#: Cross-validation schemes (:func:`neurodx.evaluation.make_folds` takes the same names).
CV_SCHEMES = ("stratified_kfold", "holdout", "leave_one_site_out")
#: The largest seed numpy's legacy generators (and so scikit-learn) accept.
SEED_MAX = 2**32 - 1

FlatPolicy = Literal[FLAT_POLICIES]
_FLAT_POLICY = ("a flat channel: refuse (stop the study), drop (remove it from every "
                "subject, listed in the report) or skip_subject (leave those subjects out)")


def _band(edges: Any) -> Any:
    """``[low, high]`` in Hz with ``0 < low < high`` (both finite numbers)."""
    ok = isinstance(edges, list) and len(edges) == 2 and all(
        isinstance(e, (int, float)) and not isinstance(e, bool) and math.isfinite(e)
        for e in edges)
    if not ok or not 0 < edges[0] < edges[1]:
        raise PydanticCustomError("band", "expected [low, high] in Hz with 0 < low < high")
    return edges


Band = Annotated[Any, AfterValidator(_band),
                 Field(json_schema_extra={"type": "array", "minItems": 2, "maxItems": 2,
                                          "items": {"type": "number", "exclusiveMinimum": 0}})]


def _text_unit(unit: str) -> str:
    if unit.strip().lower() not in TEXT_UNITS:     # the reader's own list (any case)
        raise PydanticCustomError("text_unit", "expected uV, mV, V or nV (any case; µV too)")
    return unit


TextUnit = Annotated[str, AfterValidator(_text_unit)]


class CohortSection(Section):
    """Where the subjects are and what their labels are."""

    path: Optional[str] = setting(None, "cohort folder with participants.tsv, relative to the "
                                  "config file; --cohort overrides it")
    modality: Optional[Literal[MODALITIES]] = setting(
        None, "kind of recording (null: inferred from the files)",
        expected="eeg, regions or volume (null: inferred from the files)")
    # Labels are compared as text, so [0, 1] means the labels "0" and "1".
    groups: Optional[list[str | int]] = setting(None, "allowed labels (null: every label "
                                                "found)")
    group_column: str = setting("group", "participants.tsv column holding the label")
    site_column: str = setting("site", "participants.tsv column holding the site "
                               "(cv.scheme leave_one_site_out)")
    skip_bad: bool = setting(False, "run on the usable subjects, listing the others, "
                             "instead of refusing the cohort")
    allow_outside: bool = setting(False, "let participants.tsv paths lead outside the "
                                  "cohort folder")


class EEGSection(Section):
    """What the EEG recordings must be (:class:`neurodx.io.EEGSpec`)."""

    n_channels: Optional[int] = setting(
        None, "required EEG channel count (null: the cohort's most common set)",
        expected="an integer >= 2, or null", ge=2)
    channel_names: Optional[list[str]] = setting(None, "channels to use, in order (null: "
                                                 "from the data)")
    exclude: list[str] = setting([], "channels to drop besides auto-typed EOG/ECG/EMG/status, "
                                 "e.g. [M1, M2]")
    sfreq: Optional[float] = setting(None, "sampling rate used, Hz (null: the cohort's most "
                                     "common)", expected="a rate > 0 in Hz, or null", gt=0)
    sfreq_policy: Literal["resample", "refuse"] = setting(
        "resample", "recordings at another rate: resample them, or refuse the cohort")
    min_duration: float = setting(0.0, "shortest usable recording, seconds",
                                  expected="seconds >= 0", ge=0)
    flat_std: float = setting(1e-7, "a channel whose SD is below this (volts) is flat",
                              expected="volts >= 0", ge=0)
    flat_ratio: float = setting(1e-2, "a channel whose SD is below this fraction of the "
                                "median channel SD is flat",
                                expected="a fraction >= 0 and < 1", ge=0, lt=1)
    saturation_fraction: float = setting(
        0.01, "share of samples at the extremes that makes a channel saturated",
        expected="a fraction > 0 and <= 1", gt=0, le=1)
    flat_policy: FlatPolicy = setting("refuse", _FLAT_POLICY)
    bad_channels: Literal[BAD_CHANNEL_POLICIES] = setting(
        "exclude", "channels marked bad in a BIDS _channels.tsv: exclude (from every "
        "subject), interpolate (needs electrode positions) or ignore")
    text_orientation: Literal["samples", "channels"] = setting(
        "samples", "text EEG without a sidecar: what one row holds")
    text_unit: TextUnit = setting("uV", "text EEG without a _channels.tsv: unit of the values",
                                  expected="uV, mV, V or nV (any case; µV too)")


class RegionsSection(Section):
    """What region time series must be (:class:`neurodx.io.RegionSpec`)."""

    n_regions: Optional[int] = setting(None, "required region count (null: the cohort's "
                                       "most common)", expected="an integer >= 2, or null",
                                       ge=2)
    min_timepoints: int = setting(20, "shortest usable series, time points",
                                  expected="an integer >= 1", ge=1)
    flat_policy: FlatPolicy = setting("refuse", _FLAT_POLICY.replace("channel", "region "
                                                                     "column"))


class VolumeSection(Section):
    """What volumes must be (:class:`neurodx.io.VolumeSpec`) and how runs become regions."""

    require_4d: bool = setting(False, "time series required (fMRI): a 3-D volume is an error")
    min_frames: int = setting(2, "fewest frames of a run when require_4d",
                              expected="an integer >= 1", ge=1)
    expected_shape: Optional[list[Annotated[int, Field(ge=1)]]] = setting(
        None, "spatial shape of every volume, RAS order (null: the most common)",
        expected="3 sizes [x, y, z] >= 1, or null", min_length=3, max_length=3)
    shape_policy: Literal["refuse", "resample"] = setting(
        "refuse", "volumes of another shape: refuse them, or resample every slice")
    series: Optional[str | int] = setting(None, "DICOM series to read in folders holding "
                                          "several (a UID, a series number, or largest)")
    intensity: Literal[INTENSITY_SETTINGS] = setting(
        "auto", "unit of the voxel values: auto (DICOM CT: HU, PNG/JPG: display grey "
        "levels, NIfTI: HU when it holds air), hu or display (neurodx.io.units)")
    slice_labels: Literal["auto", "none"] = setting(
        "auto", "slice CNNs: auto trains on the cohort's slices.tsv (what each slice of a "
        "training scan shows) when it has one; none ignores it (neurodx.io.slice_labels)")
    atlas: Optional[str] = setting(None, "region series from 4-D runs (RMT routes): a NIfTI "
                                   "label image (0 = background), relative to the config "
                                   "file; null: a parcellation fitted in each fold")
    parcellation: Literal[PARCELLATION_METHODS] = setting(
        "ward", "without an atlas: the parcellation fitted on each fold's training subjects")
    n_parcels: int = setting(10, "regions of the parcellation", expected="an integer >= 2",
                             ge=2)
    low_pass: Optional[float] = setting(None, "low-pass of the region series, Hz (TR from "
                                        "the headers; null: none)",
                                        expected="a frequency > 0 in Hz, or null", gt=0)
    high_pass: Optional[float] = setting(None, "high-pass of the region series, Hz (0.01 "
                                         "removes scanner drift; null: none)",
                                         expected="a frequency > 0 in Hz, or null", gt=0)


class PreprocessingSection(Section):
    """Filtering, reference and rate applied to every EEG recording before the routes."""

    reference: Optional[str] = setting("average", "EEG reference: average, or null (keep "
                                       "the recording's)")
    notch: Optional[float] = setting(None, "line frequency in Hz (null: no notch)",
                                     expected="a frequency > 0 in Hz (50 or 60), or null",
                                     gt=0)
    l_freq: Optional[float] = setting(None, "high-pass edge in Hz (null: none)",
                                      expected="a frequency > 0 in Hz, or null", gt=0)
    h_freq: Optional[float] = setting(None, "low-pass edge in Hz (null: none)",
                                      expected="a frequency > 0 in Hz, or null", gt=0)
    sfreq: Optional[float] = setting(None, "resample to this rate in Hz (null: keep); the "
                                     "eeg_cnn route also works at this rate",
                                     expected="a rate > 0 in Hz, or null", gt=0)

    @model_validator(mode="after")
    def _pass_band(self):
        if self.l_freq is not None and self.h_freq is not None and self.l_freq >= self.h_freq:
            raise PydanticCustomError(
                "pass_band", f"l_freq ({self.l_freq:g}) must be below h_freq ({self.h_freq:g})")
        return self


class WindowsSection(Section):
    """How recordings are cut into windows, and the frequency bands of the RMT routes."""

    length: float = setting(2.0, "window length: seconds for EEG, time points for region "
                            "series", expected="seconds > 0", gt=0)
    overlap: float = setting(0.5, "fraction of a window shared with the next",
                             expected="a fraction >= 0 and < 1", ge=0, lt=1)
    bands: dict[str, Band] = setting(
        {name: list(edges) for name, edges in DEFAULT_BANDS.items()},
        "band name: [low, high] in Hz (a mapping of your own names; replaces the default "
        "bands)", expected="[low, high] in Hz with 0 < low < high, per band")


class CVSection(Section):
    """The subject-level cross-validation every route runs on (the same folds)."""

    scheme: Literal[CV_SCHEMES] = setting(
        "stratified_kfold", "stratified_kfold (repeated), holdout (a stratified random "
        "split per repeat) or leave_one_site_out; subjects never straddle folds")
    n_splits: int = setting(5, "folds per repeat", expected="an integer >= 2 (folds per "
                            "repeat)", ge=2)
    n_repeats: int = setting(1, "repeats with reshuffled folds (holdout: splits)",
                             expected="an integer >= 1 (repeats, or holdout splits)", ge=1)
    test_size: float = setting(0.25, "test share per class for holdout",
                               expected="a fraction between 0 and 1 (exclusive)", gt=0, lt=1)


class StatisticsSection(Section):
    """Confidence intervals and the permutation test."""

    bootstrap: int = setting(1000, "subject-bootstrap resamples for the confidence intervals",
                             expected="an integer >= 1 (subject-bootstrap resamples for "
                                      "the CIs)", ge=1)
    permutations: int = setting(100, "label permutations (each refits the route; 0 turns "
                                "the test off)", expected="an integer >= 0 (0: no "
                                "permutation test)", ge=0)
    level: float = setting(0.95, "confidence level of the intervals",
                           expected="a level between 0 and 1 (exclusive), e.g. 0.95",
                           gt=0, lt=1)
    permutation_route: str = setting("best", "route whose labels are permuted: best (the "
                                     "best route of the run) or a route name")


class StudyConfig(Section):
    """A study: the cohort, what its recordings must be, preprocessing, routes, CV, seed."""

    study: str = setting("", "name of the study (the run folder defaults to runs/<study>)")
    description: str = setting("", "one line shown in the report")
    pipeline: Optional[str] = setting(
        None, "study module (Python, relative to the config file) defining the routes; "
        "outside neurodx's pipelines/ it needs --allow-code (null: the standard routes)")
    cohort: CohortSection = Field(default_factory=CohortSection,
                                  description=CohortSection.__doc__)
    eeg: EEGSection = Field(default_factory=EEGSection, description=EEGSection.__doc__)
    regions: RegionsSection = Field(default_factory=RegionsSection,
                                    description=RegionsSection.__doc__)
    volume: VolumeSection = Field(default_factory=VolumeSection,
                                  description=VolumeSection.__doc__)
    preprocessing: PreprocessingSection = Field(default_factory=PreprocessingSection,
                                                description=PreprocessingSection.__doc__)
    windows: WindowsSection = Field(default_factory=WindowsSection,
                                    description=WindowsSection.__doc__)
    routes: dict[str, Any] = setting(
        {}, "route name: its settings, validated by the route kind (routes.<name>.kind; "
        "see the route kinds below); a kind a study module defines itself is checked "
        "by that module")
    cv: CVSection = Field(default_factory=CVSection, description=CVSection.__doc__)
    statistics: StatisticsSection = Field(default_factory=StatisticsSection,
                                          description=StatisticsSection.__doc__)
    seed: int = setting(0, "one seed for folds, permutations, bootstrap and training",
                        expected=f"an integer >= 0 and <= {SEED_MAX}", ge=0, le=SEED_MAX)
