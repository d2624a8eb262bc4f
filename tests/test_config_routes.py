"""Route-kind parameter models stay in step with what the routes take."""
import inspect

import pytest

from neurodx.config.routes import (CLEANING_METHODS, ROUTE_KINDS, SUBJECT_STATISTICS,
                                   RouteParameters)
from neurodx.rmt import RMT_ROUTE_KINDS, SUBJECT_STATS

# Keys every route takes besides its factory's arguments (read by the route builders).
ROUTE_KEYS = set(RouteParameters.model_fields)


@pytest.mark.parametrize("kind", sorted(RMT_ROUTE_KINDS))
def test_each_rmt_kind_declares_its_factory_arguments_with_their_defaults(kind):
    assert kind in ROUTE_KINDS, f"route kind {kind} has no parameter model in neurodx.config"
    factory, _ = RMT_ROUTE_KINDS[kind]
    # The factory's own `kind` (correlation/covariance) cannot be set: `kind` names the route.
    accepted = {n: p for n, p in inspect.signature(factory).parameters.items() if n != "kind"}
    fields = ROUTE_KINDS[kind].model_fields
    assert set(fields) - ROUTE_KEYS == set(accepted)
    for name, parameter in accepted.items():
        default = parameter.default
        default = list(default) if isinstance(default, tuple) else default
        assert fields[name].default == default, (kind, name)


def test_declared_choices_are_the_estimators():
    from neurodx.rmt import covariances

    assert set(CLEANING_METHODS) == set(covariances._METHODS)
    assert set(SUBJECT_STATISTICS) == set(SUBJECT_STATS)


def test_declared_cnn_settings_are_estimator_parameters():
    from neurodx.models import SliceVotingClassifier, WindowVotingClassifier

    params = set(SliceVotingClassifier().get_params()) | set(WindowVotingClassifier().get_params())
    declared = set(ROUTE_KINDS["cnn"].model_fields) - ROUTE_KEYS - {"preset"}
    assert declared <= params, declared - params


def test_other_choices_match_their_readers():
    from neurodx.config.schema import CV_SCHEMES
    from neurodx.evaluation import SCHEMES

    assert CV_SCHEMES == SCHEMES
