"""RMT routes' folds run in parallel under --jobs with the same predictions as one job."""
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neurodx.evaluation import Route
from neurodx.evaluation.cross_validation import _runs_torch, cross_validate as _cross_validate
from neurodx.evaluation.folds import make_folds
from neurodx.models import SliceVotingClassifier
from neurodx.rmt import make_classifier


def test_parallel_folds_give_the_predictions_of_one_job():
    rng = np.random.default_rng(0)
    y = np.array(["HC", "SZ"] * 12, dtype=object)
    X = list(rng.standard_normal((24, 300)) + 0.5 * (y == "SZ")[:, None])   # SYNTHETIC, wide
    route = Route("tuned", make_pipeline(StandardScaler(), make_classifier("logreg")),
                  param_grid={"rowspacelogisticregression__C": [0.1, 1.0]}, inner_splits=2)
    folds = make_folds(y, scheme="stratified_kfold", n_splits=3, n_repeats=2, seed=0)
    one = _cross_validate(route, X, y, folds, ["HC", "SZ"], n_jobs=1)
    two = _cross_validate(route, X, y, folds, ["HC", "SZ"], n_jobs=2)
    assert one[0] == two[0] and one[1] == two[1]
    assert len(one[0]) == 2 * 24


def test_cnn_routes_stay_in_this_process():
    assert _runs_torch(Route("cnn", SliceVotingClassifier()))
    assert not _runs_torch(Route("lr", make_pipeline(StandardScaler(), make_classifier("svc"))))


def test_a_classifier_grid_fits_the_steps_before_it_once_per_inner_fold_same_result():
    from sklearn.base import clone

    from neurodx.evaluation.cross_validation import _fit_fold, _grid_sets_only_the_classifier

    rng = np.random.default_rng(1)
    y = np.array(["HC", "SZ"] * 10, dtype=object)
    X = list(rng.standard_normal((20, 50)) + 0.3 * (y == "SZ")[:, None])
    pipe = make_pipeline(StandardScaler(), make_classifier("logreg"))
    route = Route("tuned", pipe, param_grid={"rowspacelogisticregression__C": [0.1, 1.0]},
                  inner_splits=2)
    fold = make_folds(y, scheme="stratified_kfold", n_splits=2, seed=0)[0]
    assert _grid_sets_only_the_classifier(route.cv_estimator)
    cached = _fit_fold(route, X, y, fold)
    plain = clone(route.cv_estimator).fit([X[i] for i in fold.train], y[fold.train])
    test = [X[i] for i in fold.test]
    assert np.array_equal(cached.predict_proba(test), plain.predict_proba(test))
    assert cached.best_params_ == plain.best_params_
    assert cached.estimator.memory is None and cached.best_estimator_.memory is None
    # a grid over a step before the classifier: those steps differ between grid points
    other = Route("t2", pipe, param_grid={"standardscaler__with_mean": [True, False]},
                  inner_splits=2)
    assert not _grid_sets_only_the_classifier(other.cv_estimator)
    # a tangent space reuses its fits and vectors in memory: no disk cache on top
    from neurodx.rmt import BandTangentSpace

    tangent = Route("t3", make_pipeline(BandTangentSpace(), StandardScaler(),
                                        make_classifier("logreg")),
                    param_grid={"rowspacelogisticregression__C": [0.1, 1.0]}, inner_splits=2)
    assert not _grid_sets_only_the_classifier(tangent.cv_estimator)


def test_routes_pooled_on_two_workers_predict_as_route_by_route():
    from neurodx.evaluation.cross_validation import cross_validate_routes

    rng = np.random.default_rng(2)
    y = np.array(["HC", "SZ"] * 12, dtype=object)
    X = list(rng.standard_normal((24, 200)) + 0.4 * (y == "SZ")[:, None])   # SYNTHETIC
    routes = [Route("plain", make_pipeline(StandardScaler(), make_classifier("logreg"))),
              Route("tuned", make_pipeline(StandardScaler(), make_classifier("logreg")),
                    param_grid={"rowspacelogisticregression__C": [0.1, 1.0]}, inner_splits=2)]
    folds = make_folds(y, scheme="stratified_kfold", n_splits=3, seed=0)
    pooled = cross_validate_routes(routes, [X, X], y, folds, ["HC", "SZ"], n_jobs=2)
    for route, result in zip(routes, pooled):
        alone = _cross_validate(route, X, y, folds, ["HC", "SZ"], n_jobs=1)
        assert result[0] == alone[0] and result[1] == alone[1]     # rows, split scores
        assert [r["fold"] for r in result[3]] == [f.fold for f in folds]
        assert result[4] > 0                                       # the route's seconds
