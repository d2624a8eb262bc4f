"""Row-space logistic regression: the L2 model's optimum, fitted on n_samples coordinates."""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict

from neurodx.rmt import make_classifier
from neurodx.rmt.rowspace import RowSpaceLogisticRegression


def wide_problem(n=40, p=600, n_classes=2, seed=0):
    """n_features >> n_samples, correlated features, a weak class effect (SYNTHETIC)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    X = rng.standard_normal((n, 8)) @ rng.standard_normal((8, p)) + rng.standard_normal((n, p))
    X += 0.4 * np.eye(n_classes)[y] @ rng.standard_normal((n_classes, p))
    test = rng.standard_normal((25, 8)) @ rng.standard_normal((8, p))
    return X, y, test


@pytest.mark.parametrize("n_classes, C", [(2, 0.01), (2, 1.0), (3, 0.1)])
def test_same_optimum_as_the_full_space_fit(n_classes, C):
    X, y, test = wide_problem(n_classes=n_classes)
    tight = dict(C=C, class_weight="balanced", tol=1e-10, max_iter=10000)
    full = LogisticRegression(**tight).fit(X, y)
    row = RowSpaceLogisticRegression(**tight).fit(X, y)
    assert row.coef_.shape == full.coef_.shape == (1 if n_classes == 2 else 3, X.shape[1])
    assert row.n_features_in_ == X.shape[1]
    # lbfgs stops within ~1e-5 of the optimum in either space (the row-space fit reaches
    # the lower objective on these problems)
    assert np.abs(row.predict_proba(test) - full.predict_proba(test)).max() < 1e-5
    assert np.array_equal(row.predict(test), full.predict(test))
    np.testing.assert_allclose(row.coef_, full.coef_, atol=1e-4 * np.abs(full.coef_).max())


def test_nested_c_search_gives_the_same_predictions_as_the_full_space_search():
    X, y, _ = wide_problem(n=48, seed=3)
    outer = StratifiedKFold(4, shuffle=True, random_state=0)
    inner = StratifiedKFold(3, shuffle=True, random_state=0)

    def nested(clf):
        search = GridSearchCV(clf, {"C": [0.01, 0.1, 1.0]}, cv=inner,
                              scoring="balanced_accuracy")
        return cross_val_predict(search, X, y, cv=outer)

    tight = dict(class_weight="balanced", tol=1e-10, max_iter=10000)
    assert np.array_equal(nested(RowSpaceLogisticRegression(**tight)),
                          nested(LogisticRegression(**tight)))


def test_l1_penalty_and_tall_data_fit_in_the_original_space():
    X, y, test = wide_problem(n=30, p=60)
    l1 = dict(l1_ratio=1.0, solver="liblinear", C=1.0, random_state=0)
    np.testing.assert_array_equal(RowSpaceLogisticRegression(**l1).fit(X, y).coef_,
                                  LogisticRegression(**l1).fit(X, y).coef_)
    tall = X[:, :20]
    np.testing.assert_array_equal(RowSpaceLogisticRegression().fit(tall, y).coef_,
                                  LogisticRegression().fit(tall, y).coef_)


def test_the_route_classifier_is_the_row_space_fit_and_clones():
    clf = make_classifier("logreg", random_state=3)
    assert isinstance(clf, RowSpaceLogisticRegression)
    assert clone(clf).get_params() == clf.get_params()
    assert clf.get_params()["class_weight"] == "balanced"
