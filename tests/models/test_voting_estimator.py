import inspect

import numpy as np
import pytest
from sklearn.base import clone

from neurodx.errors import ConfigError
from neurodx.models import SliceVotingClassifier, WindowVotingClassifier
from neurodx.models.subjects import subject_entries
from neurodx.models.voting_estimator import VotingClassifierBase

SHARED = [n for n in inspect.signature(VotingClassifierBase.__init__).parameters if n != "self"]


@pytest.mark.parametrize("cls", [SliceVotingClassifier, WindowVotingClassifier])
def test_every_parameter_is_listed_once_and_clone_keeps_them(cls):
    own = [n for n in inspect.signature(cls.__init__).parameters if n != "self"]
    assert len(own) == len(set(own)) and set(SHARED) <= set(own)
    est = cls(epochs=3, dropout=0.1, calibration="logistic", random_state=7)
    params = est.get_params()
    assert sorted(params) == sorted(own)
    assert (params["epochs"], params["dropout"], params["random_state"]) == (3, 0.1, 7)
    twin = clone(est)
    assert twin.get_params() == params and twin is not est
    assert cls().set_params(lr=0.5).lr == 0.5
    with pytest.raises(TypeError):
        cls(epoch=3)                              # a typo is refused, not stored


def test_subjects_are_pairs_or_data_and_ids_stay_unique():
    a, b = np.zeros((2, 4)), np.ones((2, 4))
    assert subject_entries([("s1", a), ("s2", b)])[0] == ["s1", "s2"]
    ids, data, explicit = subject_entries([a, b])
    assert ids == ["subject#0", "subject#1"] and not explicit and data[1] is b
    with pytest.raises(ConfigError, match="repeated: s1"):
        subject_entries([("s1", a), ("s1", b)])
    with pytest.raises(ConfigError, match="one entry per subject"):
        subject_entries("sub-01.nii.gz")
