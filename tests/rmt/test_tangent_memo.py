"""BandTangentSpace: pyRiemann's tangent space, its reference mean reused for the very
same training matrices (exactly)."""
import numpy as np
import pytest
from pyriemann.tangentspace import TangentSpace

from neurodx.errors import ConfigError
from neurodx.rmt import BandTangentSpace
from neurodx.rmt._reference_memo import REFERENCES, matrices_key


def spd_stack(n_subjects=12, n_bands=2, n=6, seed=0):
    """SYNTHETIC SPD matrices (n_subjects, n_bands, n, n): sample covariances of noise."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n_subjects, n_bands, n, 4 * n))
    return a @ np.swapaxes(a, -1, -2) / (4 * n)


@pytest.fixture(autouse=True)
def empty_memo():
    REFERENCES.clear()
    yield
    REFERENCES.clear()


@pytest.mark.parametrize("metric", ["riemann", "logeuclid"])
def test_features_are_pyriemanns_tangent_space_per_band(metric):
    # spread-out matrices (scales over two decades), as region covariances are
    X = spd_stack(n=8) * np.logspace(0, 2, 12)[:, None, None, None]
    Z = BandTangentSpace(metric=metric).fit(X[:9]).transform(X)
    expected = np.hstack([TangentSpace(metric=metric).fit(X[:9, b]).transform(X[:, b])
                          for b in range(X.shape[1])])
    # riemann: neurodx's mean runs pyRiemann's iteration in another frame (rounding only)
    np.testing.assert_allclose(Z, expected, rtol=0, atol=1e-9 * np.abs(expected).max())


def test_a_refit_on_the_same_matrices_is_served_from_the_memo_and_is_identical():
    X = spd_stack()
    first = BandTangentSpace().fit(X[:8])
    assert (REFERENCES.hits, REFERENCES.misses) == (0, 1)
    again = BandTangentSpace().fit(X[:8].copy())          # same values, another array
    assert REFERENCES.hits == 1
    np.testing.assert_array_equal(first.transform(X), again.transform(X))
    # the memo hands out copies: changing one fitted object leaves the stored fit intact
    again.tangent_spaces_[0].reference_[:] = 0.0
    third = BandTangentSpace().fit(X[:8])
    np.testing.assert_array_equal(first.transform(X), third.transform(X))


def test_other_training_subjects_or_metric_are_other_fits():
    X = spd_stack()
    a = BandTangentSpace().fit(X[:8])
    b = BandTangentSpace().fit(X[1:9])                   # one subject swapped
    c = BandTangentSpace(metric="logeuclid").fit(X[:8])
    assert REFERENCES.misses == 3 and REFERENCES.hits == 0
    assert not np.allclose(a.transform(X), b.transform(X))
    assert not np.allclose(a.transform(X), c.transform(X))


def test_key_changes_with_one_value_shape_or_dtype():
    X = spd_stack(n_subjects=3)
    key = matrices_key(X, "riemann")
    Y = X.copy()
    Y[2, 1, 3, 3] += 1e-12
    assert matrices_key(Y, "riemann") != key
    assert matrices_key(X.reshape(3, 1, 2 * 6, 6), "riemann") != key
    assert matrices_key(X.astype(np.float32), "riemann") != key
    assert matrices_key(X, "logeuclid") != key
    assert matrices_key(X.copy(), "riemann") == key


def test_asymmetric_matrices_are_still_refused():
    X = spd_stack(n_subjects=4)
    X[1, 0, 0, 1] += 1e-3 * np.abs(X).max()
    with pytest.raises(ConfigError, match="not symmetric"):
        BandTangentSpace().fit(X)
    # rounding-level asymmetry (as products leave it) passes
    Y = spd_stack(n_subjects=4)
    Y[1, 0, 0, 1] *= 1 + 1e-9
    BandTangentSpace().fit(Y)


def test_a_tuned_tangent_route_predicts_the_same_with_or_without_memo_hits():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from neurodx.evaluation import Route
    from neurodx.evaluation.cross_validation import fit_predict
    from neurodx.evaluation.folds import make_folds
    from neurodx.rmt import make_classifier

    y = np.array(["HC", "SZ"] * 9, dtype=object)
    X = spd_stack(n_subjects=18, n_bands=1, n=5, seed=3)
    X[y == "SZ", 0] += 0.5 * np.eye(5)                    # SYNTHETIC group effect
    route = Route("tuned", make_pipeline(BandTangentSpace(), StandardScaler(),
                                         make_classifier("logreg")),
                  param_grid={"rowspacelogisticregression__C": [0.1, 1.0]}, inner_splits=2)
    fold = make_folds(y, scheme="stratified_kfold", n_splits=3, seed=0)[0]
    first = fit_predict(route, list(X), y, fold, ["HC", "SZ"])
    hits = REFERENCES.hits
    again = fit_predict(route, list(X), y, fold, ["HC", "SZ"])     # every mean from the memo
    assert REFERENCES.hits > hits
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    REFERENCES.clear()
    fresh = fit_predict(route, list(X), y, fold, ["HC", "SZ"])
    assert np.array_equal(first[1], fresh[1])
