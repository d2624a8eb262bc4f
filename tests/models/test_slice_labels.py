"""Slice labels in the CT CNN route: training only, training subjects only, patient metrics.

Tiny SYNTHETIC scans: 12 x 12 x 4 volumes of noise; a "lesion" patient has a bright
square on one slice only (which slice varies), so three of its four slices look normal.
"""
import numpy as np
import pytest

import neurodx.models.slice_voting as slice_voting
from neurodx.errors import ConfigError
from neurodx.models import SliceVotingClassifier, load_estimator
from neurodx.models.voting import vote

TINY = dict(mode="pooled", depth=2, width=4, epochs=6, batch_size=16, lr=5e-3,
            progress=False, num_threads=1, val_fraction=0.25, patience=None, normalize=None,
            augment=None, pooling="max")


def scan(lesion_slice, rng):
    vol = 0.3 * rng.standard_normal((12, 12, 4)).astype(np.float32)
    if lesion_slice is not None:
        vol[3:7, 4:8, lesion_slice] += 2.0
    return vol


def cohort(n, seed, prefix="sub"):
    """``n`` patients alternating normal / lesion, their labels and their slice labels."""
    rng = np.random.default_rng(seed)
    subjects, y, labels = [], [], {}
    for i in range(n):
        sid = f"{prefix}-{i:02d}"
        where = int(rng.integers(4)) if i % 2 else None
        subjects.append((sid, scan(where, rng)))
        y.append("lesion" if i % 2 else "normal")
        labels[sid] = {k: ("lesion" if k == where else "normal") for k in range(4)}
    return subjects, np.array(y), labels


def write_tsv(path, labels):
    rows = ["participant_id\tslice\tlabel"] + [f"{sid}\t{k}\t{lab}" for sid, per in
                                               labels.items() for k, lab in per.items()]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_slice_labels_become_training_targets_and_metrics_stay_per_patient(tmp_path):
    train, y, labels = cohort(12, 0)
    est = SliceVotingClassifier(voting="topk", vote_k=1, slice_labels=labels, **TINY)
    est.fit(train, y)
    assert est.n_slice_labels_ == 48                 # 12 patients x 4 slices
    assert est.classes_[est.background_] == "normal"  # inferred from the slice labels
    test, y_test, _ = cohort(6, 1, prefix="new")
    proba = est.predict_proba(test)
    assert proba.shape == (6, 2) and np.allclose(proba.sum(1), 1)
    details = est.vote_details(test)
    assert details["subject"].tolist() == [sid for sid, _ in test]   # one row per patient


def test_lesion_free_slices_are_trained_as_normal():
    train, y, labels = cohort(8, 0)
    est = SliceVotingClassifier(slice_labels=labels, **TINY)
    ids = [sid for sid, _ in train]
    classes = np.array(["lesion", "normal"])
    y_idx = np.searchsorted(classes, y)
    est._reset_input()
    items = est._items([est._prepare(d, sid, fitting=True) for sid, d in train], ids, y_idx)
    targets = est._fit_targets(items, ids, classes)
    for i, (sid, pos) in enumerate(zip(items.groups, items.positions)):
        assert classes[targets[i]] == labels[sid][pos]
    # a lesion patient: one slice trained as lesion, three as normal; labels stay the patient's
    lesion_items = np.asarray(items.groups) == "sub-01"
    assert (targets[lesion_items] == 0).sum() == 1 and (items.labels[lesion_items] == 0).all()


def test_test_patients_slice_labels_are_never_read(tmp_path, monkeypatch):
    train, y, labels = cohort(12, 0)
    test, _, test_labels = cohort(6, 1, prefix="new")
    asked = []
    real = slice_voting.read_slice_labels

    def spy(path, subjects):
        asked.append(sorted(subjects))
        return real(path, subjects)

    monkeypatch.setattr(slice_voting, "read_slice_labels", spy)
    path_a = write_tsv(tmp_path / "a.tsv", {**labels, **test_labels})
    # the test patients' rows say the opposite in b.tsv: it must not matter
    flipped = {sid: {k: ("normal" if lab == "lesion" else "lesion") for k, lab in per.items()}
               for sid, per in test_labels.items()}
    path_b = write_tsv(tmp_path / "b.tsv", {**labels, **flipped})
    probas = []
    for path in (path_a, path_b):
        est = SliceVotingClassifier(voting="topk", slice_labels=str(path), **TINY).fit(train, y)
        n_reads = len(asked)
        probas.append(est.predict_proba(test))
        assert len(asked) == n_reads                   # prediction reads no slice labels
    assert all(ids == sorted(sid for sid, _ in train) for ids in asked)
    np.testing.assert_array_equal(probas[0], probas[1])


def test_same_seed_same_predictions_and_save_drops_the_labels(tmp_path):
    train, y, labels = cohort(10, 0)
    test, _, _ = cohort(4, 1, prefix="new")
    fits = [SliceVotingClassifier(voting="topk", vote_k=2, slice_labels=labels, **TINY)
            .fit(train, y) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].predict_proba(test), fits[1].predict_proba(test))
    fits[0].save(tmp_path / "model")
    loaded = load_estimator(tmp_path / "model")
    assert loaded.slice_labels is None and loaded.background_ == fits[0].background_
    np.testing.assert_allclose(loaded.predict_proba(test), fits[0].predict_proba(test),
                               atol=1e-6)


def test_without_slice_labels_nothing_changes():
    train, y, labels = cohort(8, 0)
    test, _, _ = cohort(4, 1, prefix="new")
    plain = SliceVotingClassifier(voting="soft", **TINY).fit(train, y)
    assert plain.n_slice_labels_ == 0
    empty = SliceVotingClassifier(voting="soft", slice_labels={}, **TINY).fit(train, y)
    np.testing.assert_array_equal(plain.predict_proba(test), empty.predict_proba(test))
    # topk without a known lesion-free class: every slice votes, as the soft vote does
    topk = SliceVotingClassifier(voting="topk", **TINY).fit(train, y)
    assert topk.background_ is None
    np.testing.assert_array_equal(plain.predict_proba(test), topk.predict_proba(test))


def test_bad_settings_are_config_errors():
    train, y, labels = cohort(8, 0)
    # two groups given to other patients' slices: which one is lesion-free is ambiguous
    y3 = np.array(["normal", "a", "b", "a", "normal", "b", "a", "b"])
    odd = {"sub-01": {0: "normal"}, "sub-02": {0: "a"}}
    with pytest.raises(ConfigError, match="routes.<name>.background_class"):
        SliceVotingClassifier(voting="topk", slice_labels=odd, **TINY).fit(train, y3)
    with pytest.raises(ConfigError, match="background_class 'healthy' is not one of"):
        SliceVotingClassifier(voting="topk", background_class="healthy", **TINY).fit(train, y)
    with pytest.raises(ConfigError, match="vote_k must be an integer >= 1"):
        SliceVotingClassifier(voting="topk", vote_k=0, **TINY).fit(train, y)
    with pytest.raises(ConfigError, match="pooling: max applies"):
        SliceVotingClassifier(**{**TINY, "mode": "shared"}).fit(train, y)


def test_topk_vote_lets_the_most_lesion_like_slices_decide():
    # class 0 = lesion, 1 = normal; patient a has one clear lesion slice of four
    proba = np.array([[0.1, 0.9], [0.9, 0.1], [0.2, 0.8], [0.1, 0.9],   # a
                      [0.3, 0.7], [0.2, 0.8], [0.1, 0.9], [0.2, 0.8]])  # b
    groups = np.array(["a"] * 4 + ["b"] * 4)
    assert vote(proba, groups, "soft").predicted.tolist() == [1, 1]     # diluted
    top1 = vote(proba, groups, "topk", k=1, background=1)
    assert top1.predicted.tolist() == [0, 1]
    np.testing.assert_allclose(top1.proba, [[0.9, 0.1], [0.3, 0.7]])
    np.testing.assert_allclose(vote(proba, groups, "topk", k=2, background=1).proba,
                               [[0.55, 0.45], [0.25, 0.75]])
    np.testing.assert_allclose(vote(proba, groups, "topk", k=10, background=1).proba,
                               vote(proba, groups, "soft").proba)
    with pytest.raises(ValueError, match="background class index"):
        vote(proba, groups, "topk", k=1)


def test_the_vote_threshold_is_fitted_on_validation_patients_only(tmp_path):
    train, y, labels = cohort(16, 0)
    test, _, _ = cohort(4, 1, prefix="new")
    est = SliceVotingClassifier(voting="topk", vote_k=1, slice_labels=labels,
                                calibration="logistic", **TINY).fit(train, y)
    cal = est.vote_calibration_
    assert cal is not None and set(cal.subjects_) == set(est.val_subjects_)
    assert cal.n_items_ == len(est.val_subjects_)          # one row per patient
    proba = est.predict_proba(test)
    np.testing.assert_allclose(proba, cal.transform(
        vote(est.calibration_.transform(_slice_proba(est, test)),
             np.repeat([sid for sid, _ in test], 4), "topk", k=1,
             background=est.background_).proba))
    est.save(tmp_path / "model")
    np.testing.assert_allclose(load_estimator(tmp_path / "model").predict_proba(test), proba,
                               atol=1e-6)


def _slice_proba(est, subjects):
    from neurodx.models.training import predict_items
    items = est._items([est._prepare(d, sid, fitting=False) for sid, d in subjects],
                       [sid for sid, _ in subjects], None)
    return predict_items(est.network_, items, batch_size=64, device="cpu")


def test_identical_validation_votes_fit_no_threshold(monkeypatch, caplog):
    # A network whose every slice says the same (saturated): a calibration or threshold
    # fitted on the validation patients' identical items would map everyone to one
    # constant (0.5) that ties every patient and hands them to the first class. Neither
    # is fitted, the log says so, and the network's own output decides.
    import neurodx.models.voting_estimator as ve

    def constant(network, items, index=None, **kwargs):
        n = len(items) if index is None else len(index)
        return np.tile([0.02, 0.98], (n, 1)).astype(np.float32)

    monkeypatch.setattr(ve, "predict_items", constant)
    train, y, labels = cohort(16, 0)
    with caplog.at_level("WARNING", logger="neurodx"):
        est = SliceVotingClassifier(voting="topk", vote_k=1, slice_labels=labels,
                                    calibration="logistic", **TINY).fit(train, y)
    assert est.calibration_ is None and est.vote_calibration_ is None
    assert "scored alike" in caplog.text
    proba = est.predict_proba(train[:4])
    assert np.all(proba[:, 1] > proba[:, 0])          # no ties: the network's 0.98 decides
    # a network that does separate the validation patients still gets its threshold
    monkeypatch.undo()
    est = SliceVotingClassifier(voting="topk", vote_k=1, slice_labels=labels,
                                calibration="logistic", **TINY).fit(train, y)
    assert est.vote_calibration_ is not None


def test_saturated_top_votes_fit_no_threshold(monkeypatch, caplog):
    # Items that differ, so the item calibration is fitted, but every patient's top slice
    # of each class is saturated alike: the top-1 votes are identical, and a threshold
    # fitted on them would tie every patient. It is not fitted; the log says so.
    import neurodx.models.voting_estimator as ve

    def saturated_top(network, items, index=None, **kwargs):
        from neurodx.models.training import item_targets

        index = np.arange(len(items)) if index is None else np.asarray(index)
        # lesion probability (column 0: classes are sorted) following the slice labels;
        # each patient's first slice saturated for one class, its second for the other
        lesion = item_targets(items)[index] == 0
        p = np.where(lesion, 0.6, 0.4) + np.random.default_rng(0).uniform(-0.05, 0.05,
                                                                          len(index))
        groups = np.asarray(items.groups)[index]
        first = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        p[first], p[first + 1] = 0.98, 0.02   # every patient's top slice of each class
        return np.column_stack([p, 1 - p]).astype(np.float32)

    monkeypatch.setattr(ve, "predict_items", saturated_top)
    train, y, labels = cohort(16, 0)
    with caplog.at_level("WARNING", logger="neurodx"):
        est = SliceVotingClassifier(voting="topk", vote_k=1, slice_labels=labels,
                                    calibration="logistic", **TINY).fit(train, y)
    assert est.calibration_ is not None and est.vote_calibration_ is None
    assert "votes are identical" in caplog.text
