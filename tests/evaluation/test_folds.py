import numpy as np
import pytest

from neurodx.errors import ConfigError
from neurodx.evaluation.folds import make_folds

Y = np.array(["HC"] * 8 + ["FES"] * 6 + ["CHR"] * 6)
SITES = np.array(["a", "b"] * 10)


@pytest.mark.parametrize("kw", [
    dict(scheme="stratified_kfold", n_splits=3, n_repeats=2),
    dict(scheme="holdout", test_size=0.25, n_repeats=4),
    dict(scheme="holdout", test_size=0.2, n_repeats=3),
    dict(scheme="leave_one_site_out", sites=SITES),
])
def test_train_and_test_never_share_a_subject(kw):
    folds = make_folds(Y, seed=3, **kw)
    assert folds
    for f in folds:
        assert not set(f.train) & set(f.test)
        assert len(f.train) + len(f.test) == len(Y)
        assert set(Y[f.test]) <= set(Y[f.train])


def test_kfold_tests_each_subject_once_per_repeat_and_is_seeded():
    folds = make_folds(Y, n_splits=4, n_repeats=3, seed=1)
    for r in range(3):
        tested = np.concatenate([f.test for f in folds if f.repeat == r])
        assert sorted(tested) == list(range(len(Y)))
    again = make_folds(Y, n_splits=4, n_repeats=3, seed=1)
    assert all(np.array_equal(a.test, b.test) for a, b in zip(folds, again))
    other = make_folds(Y, n_splits=4, n_repeats=3, seed=2)
    assert any(not np.array_equal(a.test, b.test) for a, b in zip(folds, other))


def test_holdout_is_stratified_per_class():
    for f in make_folds(Y, scheme="holdout", test_size=0.25, n_repeats=5):
        counts = {c: int(np.sum(Y[f.test] == c)) for c in ("HC", "FES", "CHR")}
        assert counts == {"HC": 2, "FES": 1, "CHR": 2} or sum(counts.values()) == 5
        assert min(counts.values()) >= 1


def test_leave_one_site_out_tests_one_site_at_a_time():
    folds = make_folds(Y, scheme="leave_one_site_out", sites=SITES)
    assert [set(SITES[f.test]) for f in folds] == [{"a"}, {"b"}]


@pytest.mark.parametrize("kw, message", [
    (dict(scheme="bogus"), "unknown CV scheme"),
    (dict(n_splits=7), "at least 7 subjects per group"),
    (dict(scheme="leave_one_site_out"), "needs a 'site'"),
    (dict(scheme="leave_one_site_out", sites=["a"] * 20), "at least two sites"),
    (dict(scheme="holdout", test_size=0.05), "no test subject"),
])
def test_bad_schemes(kw, message):
    with pytest.raises(ConfigError, match=message):
        make_folds(Y, **kw)


def test_a_site_holding_a_whole_group_is_refused():
    sites = np.where(Y == "CHR", "c", "a")
    with pytest.raises(ConfigError, match="removes every subject of group"):
        make_folds(Y, scheme="leave_one_site_out", sites=sites)
