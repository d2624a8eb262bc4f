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
