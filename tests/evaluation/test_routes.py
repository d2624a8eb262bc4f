import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from neurodx.evaluation import Route


def test_extract_applies_only_the_stateless_prefix():
    pipe = make_pipeline(FunctionTransformer(lambda xs: np.vstack([x.mean(axis=1) for x in xs])),
                         StandardScaler(), LogisticRegression())
    route = Route("r", pipe, stateless_steps=1)
    subject = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(route.extract(subject), [1.0, 4.0])
    assert [name for name, _ in route.cv_estimator.steps] == ["standardscaler",
                                                              "logisticregression"]
    assert Route("plain", LogisticRegression()).extract(subject) is subject


@pytest.mark.parametrize("estimator, k, message", [
    (LogisticRegression(), 1, "needs a Pipeline"),
    (make_pipeline(StandardScaler(), LogisticRegression()), 2, "leave at least one step"),
])
def test_invalid_prefix(estimator, k, message):
    with pytest.raises(ValueError, match=message):
        Route("r", estimator, stateless_steps=k)


def test_nested_cv_tunes_on_inner_folds_of_the_training_subjects():
    from sklearn.model_selection import GridSearchCV

    from neurodx.evaluation import build_from_config

    def factory(C=1.0):
        return make_pipeline(StandardScaler(), LogisticRegression(C=C))

    route = build_from_config("lr", factory, {"kind": "lr", "tune": {
        "param_grid": {"logisticregression__C": [0.01, 100.0]}, "inner_splits": 3}})
    est = route.cv_estimator
    assert isinstance(est, GridSearchCV) and est.cv.n_splits == 3
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 4)), np.repeat([0, 1], 15)
    X[y == 1, 0] += 3
    est.fit(X[:24], y[:24])        # the outer training part only
    assert est.best_params_["logisticregression__C"] in (0.01, 100.0)
    # inner folds partition the 24 training rows: no outer test row takes part
    inner_test = np.concatenate([test for _, test in est.cv.split(X[:24], y[:24])])
    assert sorted(inner_test) == list(range(24))


@pytest.mark.parametrize("tune, message", [
    ({"param_grid": {"nope__C": [1]}}, "not a parameter"),
    ({"param_grid": {"logisticregression__C": 1}}, "non-empty list"),
    ({"param_grid": {"logisticregression__C": [1]}, "inner_splits": 1}, "inner_splits"),
    ({"grid": {}}, "param_grid"),
])
def test_bad_tuning_config_names_the_route(tune, message):
    from neurodx.errors import ConfigError
    from neurodx.evaluation import build_from_config

    with pytest.raises(ConfigError, match=f"routes.lr.*{message}"):
        build_from_config("lr", lambda: make_pipeline(StandardScaler(), LogisticRegression()),
                          {"kind": "lr", "tune": tune})


def test_extract_can_start_from_an_intermediate_step():
    pipe = make_pipeline(FunctionTransformer(lambda xs: [x * 2 for x in xs]),
                         FunctionTransformer(lambda xs: np.vstack([x.sum(axis=1) for x in xs])),
                         LogisticRegression())
    route = Route("r", pipe, stateless_steps=2)
    subject = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(route.extract(subject), route.extract(subject * 2, start=1))
    with pytest.raises(ValueError, match="start"):
        route.extract(subject, start=3)


def test_the_les_step_cannot_be_in_the_stateless_prefix():
    # It learns its MP reference from the training subjects (one reference per fold).
    from neurodx.errors import ConfigError
    from neurodx.rmt import make_les_pipeline

    with pytest.raises(ConfigError, match="'les' learns its Marchenko-Pastur reference"):
        Route("rmt_les", make_les_pipeline(), stateless_steps=3)
    assert Route("rmt_les", make_les_pipeline(), stateless_steps=1).cv_estimator.steps[0][0] \
        == "les"
