"""Issue 6, done when: the voting classifiers fit and predict on the committed SYNTHETIC samples.

Each estimator is built from its fast preset with tiny overrides (one or two epochs,
few frames) and gets paths from :func:`neurodx.io.load_cohort`, as a user would.
These are smoke tests of the whole route: shapes, classes, probabilities and
reproducibility per seed, never accuracy.
"""
from pathlib import Path

import numpy as np
import pytest

from neurodx.io import load_cohort
from neurodx.models import SliceVotingClassifier, WindowVotingClassifier, make_estimator

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"
# Tiny overrides of the fast presets: one thread (identical runs, no oversubscription
# under pytest-xdist) and the fewest epochs that still exercise training.
TINY = dict(epochs=2, num_threads=1)


def _split(cohort, n_test_per_group=1):
    """``(id, path)`` pairs and labels; the last ``n_test_per_group`` of each group are held out."""
    train, test = [], []
    for group in cohort.groups:
        members = [s for s in cohort if s.group == group]
        train += members[:-n_test_per_group]
        test += members[-n_test_per_group:]

    def as_xy(subjects):
        return [(s.participant_id, str(s.paths[0])) for s in subjects], \
            np.array([s.group for s in subjects])

    return as_xy(train), as_xy(test)


def _fit_predict_twice(preset, cohort, cls, **overrides):
    (x_train, y_train), (x_test, y_test) = _split(cohort)
    first = make_estimator(preset, **{**TINY, **overrides})
    assert isinstance(first, cls)
    first.fit(x_train, y_train)
    proba = first.predict_proba(x_test)
    predicted = first.predict(x_test)

    classes = sorted(cohort.groups)
    assert first.classes_.tolist() == classes
    assert proba.shape == (len(x_test), len(classes))
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert predicted.shape == (len(x_test),) and set(predicted) <= set(classes)
    assert set(first.train_subjects_) | set(first.val_subjects_) == {sid for sid, _ in x_train}
    assert not set(first.train_subjects_) & {sid for sid, _ in x_test}

    again = make_estimator(preset, **{**TINY, **overrides}).fit(x_train, y_train)
    np.testing.assert_array_equal(again.predict_proba(x_test), proba)
    return first


@pytest.mark.parametrize("mode", ["ensemble", "shared"])
def test_slice_voting_on_the_sample_fmri_cohort(mode):
    cohort = load_cohort(SAMPLE_DATA / "fmri")
    assert cohort.modality == "volume" and cohort.groups == ["HC", "MA"]
    # The sample keeps 90 frames of 24 x 24 x 12 voxels (enough time points for the RMT
    # routes); every 30th frame -> 3 frames x 12 slices per subject.
    est = _fit_predict_twice("fmri_ma_fast", cohort, SliceVotingClassifier, mode=mode,
                             frame_stride=30)
    assert est.mode == mode
    assert est.n_positions_ == 12 and est.input_shape_ == (1, 24, 24)
    if mode == "ensemble":          # the study's design: one network per slice position
        assert len(est.network_.members) == 12


def test_slice_voting_on_the_sample_ct_cohort():
    cohort = load_cohort(SAMPLE_DATA / "ct")
    assert cohort.groups == ["hemorrhage", "infarct", "normal"]
    est = _fit_predict_twice("ct_fast", cohort, SliceVotingClassifier)
    assert est.mode == "pooled" and est.input_shape_ == (3, 128, 128)   # 3 HU windows


def test_window_voting_on_the_sample_eeg_cohort():
    cohort = load_cohort(SAMPLE_DATA)
    assert cohort.modality == "eeg"
    subset = cohort.restricted_to([s.participant_id for s in cohort
                                   if s.participant_id[-2:] in ("01", "02", "03")])
    assert len(subset) == 9 and subset.groups == ["CHR", "FES", "HC"]
    est = _fit_predict_twice("eeg_fast", subset, WindowVotingClassifier, epochs=1)
    assert est.n_channels_ == 64 and est.sfreq_ == 128.0
