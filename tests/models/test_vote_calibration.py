"""Vote calibration: fitted on inner-validation subjects only, undoes a one-class bias."""
import numpy as np
import pytest

from neurodx.errors import ConfigError
from neurodx.models import WindowVotingClassifier, load_estimator
from neurodx.models.voting import VoteCalibration, vote

from .test_estimators import TINY_EEG, eeg_subject


def _biased(seed=0, n_subjects=20, per_subject=15, shift=2.5):
    """SYNTHETIC item probabilities of a network whose log-odds separate the classes but
    are shifted towards class 0 by ``shift``: an uncalibrated vote gives everyone class 0."""
    rng = np.random.default_rng(seed)
    labels, groups, logit = [], [], []
    for s in range(n_subjects):
        y = s % 2
        z = (1.0 if y else -1.0) - shift + rng.normal(0, 0.7, per_subject)
        logit += z.tolist()
        labels += [y] * per_subject
        groups += [f"sub-{s:02d}"] * per_subject
    p1 = 1 / (1 + np.exp(-np.asarray(logit)))
    return np.column_stack([1 - p1, p1]), np.array(labels), np.array(groups)


def _recalls(votes, labels, groups):
    truth = np.array([labels[groups == s][0] for s in votes.subjects])
    return [float(np.mean(votes.predicted[truth == k] == k)) for k in (0, 1)]


def test_logistic_calibration_undoes_a_one_class_bias():
    proba, labels, groups = _biased(seed=0)
    raw = _recalls(vote(proba, groups, "hard"), labels, groups)
    assert raw[1] < 0.2                                  # collapsed onto class 0
    cal = VoteCalibration("logistic").fit(proba, labels, groups)
    test_proba, test_labels, test_groups = _biased(seed=1)   # other subjects
    fixed = _recalls(vote(cal.transform(test_proba), test_groups, "hard"), test_labels,
                     test_groups)
    assert min(fixed) >= 0.8
    assert np.allclose(cal.transform(test_proba).sum(axis=1), 1.0)


def test_temperature_keeps_every_item_decision_and_round_trips():
    proba, labels, groups = _biased(seed=2, shift=0.0)
    cal = VoteCalibration("temperature").fit(proba, labels, groups)
    assert cal.temperature_ > 0
    out = cal.transform(proba)
    assert np.array_equal(out.argmax(1), proba.argmax(1))
    again = VoteCalibration.from_dict(cal.to_dict())
    assert np.allclose(again.transform(proba), out)
    logistic = VoteCalibration("logistic").fit(proba, labels, groups)
    assert np.allclose(VoteCalibration.from_dict(logistic.to_dict()).transform(proba),
                       logistic.transform(proba))


def test_calibration_needs_two_classes_and_a_known_method():
    proba, labels, groups = _biased()
    with pytest.raises(ValueError, match="two classes"):
        VoteCalibration().fit(proba, np.zeros_like(labels), groups)
    with pytest.raises(ValueError, match="calibration must be one of"):
        VoteCalibration("isotonic").fit(proba, labels, groups)


def test_estimator_fits_calibration_on_validation_subjects_only(tmp_path):
    rng = np.random.default_rng(3)
    y = np.array(["HC", "FES"] * 6)
    data = [(f"sub-{i:02d}", eeg_subject(int(lab == "FES"), rng)) for i, lab in enumerate(y)]
    test = [(f"test-{i}", eeg_subject(i % 2, rng)) for i in range(4)]
    est = WindowVotingClassifier(sfreq=64.0, calibration="logistic", **TINY_EEG).fit(data, y)
    fitted_on = set(est.calibration_.subjects_)
    assert fitted_on == set(est.val_subjects_)
    assert not fitted_on & set(est.train_subjects_)
    assert not fitted_on & {sid for sid, _ in test}
    # Same seed, same data: identical calibration and predictions; saved and reloaded too.
    again = WindowVotingClassifier(sfreq=64.0, calibration="logistic", **TINY_EEG).fit(data, y)
    assert np.array_equal(again.predict_proba(test), est.predict_proba(test))
    est.save(tmp_path / "m")
    assert np.array_equal(load_estimator(tmp_path / "m").predict_proba(test),
                          est.predict_proba(test))
    plain = WindowVotingClassifier(sfreq=64.0, **TINY_EEG).fit(data, y)
    assert plain.calibration_ is None


def test_calibration_without_validation_subjects_is_a_config_error():
    rng = np.random.default_rng(4)
    data = [eeg_subject(i % 2, rng) for i in range(4)]
    with pytest.raises(ConfigError, match="val_fraction"):
        WindowVotingClassifier(sfreq=64.0, calibration="logistic",
                               **{**TINY_EEG, "val_fraction": 0.0}).fit(data, [0, 1, 0, 1])
