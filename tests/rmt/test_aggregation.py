"""Subject aggregation and window stacking."""
import numpy as np
import pytest
from sklearn.model_selection import GroupKFold

from neurodx.errors import ConfigError
from neurodx.rmt import SUBJECT_STATS, SubjectAggregator, stack_windows


@pytest.fixture
def window_features():
    rng = np.random.default_rng(0)
    return [rng.normal(loc=i, size=(n, 3)) for i, n in enumerate((5, 9, 4))]


def test_statistics_are_computed_per_subject(window_features):
    agg = SubjectAggregator(stats=("mean", "sd", "median", "iqr"))
    out = agg.fit_transform(window_features)
    assert out.shape == (3, 3 * 4)
    a = window_features[1]
    q75, q25 = np.percentile(a, [75, 25], axis=0)
    expected = np.stack([a.mean(0), a.std(0), np.median(a, 0), q75 - q25], axis=-1).ravel()
    np.testing.assert_allclose(out[1], expected)


def test_feature_names(window_features):
    agg = SubjectAggregator(stats=("mean", "sd")).fit(window_features)
    names = agg.get_feature_names_out(["alpha_vne", "alpha_m2", "beta_vne"])
    assert list(names[:4]) == ["alpha_vne_mean", "alpha_vne_sd", "alpha_m2_mean", "alpha_m2_sd"]
    assert list(agg.get_feature_names_out()[:2]) == ["x0_mean", "x0_sd"]
    with pytest.raises(ConfigError, match="expected 3"):
        agg.get_feature_names_out(["a"])


def test_permuting_subjects_permutes_rows_and_windows_do_not_matter(window_features):
    agg = SubjectAggregator(stats=tuple(SUBJECT_STATS)).fit(window_features)
    out = agg.transform(window_features)
    np.testing.assert_allclose(agg.transform(window_features[::-1]), out[::-1])
    shuffled = [np.random.default_rng(1).permutation(a) for a in window_features]
    np.testing.assert_allclose(agg.transform(shuffled), out)


def test_a_3d_array_is_accepted(window_features):
    x = np.stack([a[:4] for a in window_features])
    agg = SubjectAggregator().fit(x)
    np.testing.assert_allclose(agg.transform(x), agg.transform(list(x)))


def test_stack_windows_keeps_the_subject_of_each_window(window_features):
    y = np.array(["HC", "FES", "CHR"])
    X, y_win, groups = stack_windows(window_features, y)
    assert X.shape == (18, 3)
    np.testing.assert_array_equal(groups, np.repeat([0, 1, 2], [5, 9, 4]))
    np.testing.assert_array_equal(y_win, np.repeat(y, [5, 9, 4]))
    np.testing.assert_allclose(X[groups == 1], window_features[1])
    for train, test in GroupKFold(n_splits=3).split(X, y_win, groups):
        assert not set(groups[train]) & set(groups[test])
    assert stack_windows(window_features)[1] is None
    with pytest.raises(ConfigError, match="3 subjects"):
        stack_windows(window_features, y[:2])


def test_invalid_input_raises(window_features):
    with pytest.raises(ConfigError, match="stats"):
        SubjectAggregator(stats=("mean", "mode")).fit(window_features)
    with pytest.raises(ConfigError, match="stats"):
        SubjectAggregator(stats="mean").fit(window_features)
    agg = SubjectAggregator().fit(window_features)
    with pytest.raises(ConfigError, match="expected 3 features"):
        agg.transform([np.ones((2, 4))])
    bad = [a.copy() for a in window_features]
    bad[2][0, 0] = np.nan
    with pytest.raises(ConfigError, match=r"X\[2\].*NaN"):
        agg.transform(bad)
    with pytest.raises(ConfigError, match="n_windows >= 1"):
        agg.transform([np.ones((0, 3))])


def test_estimator_api(api_checks):
    api_checks(SubjectAggregator())
