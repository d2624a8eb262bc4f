import numpy as np
import pytest
import torch

from neurodx.errors import ConfigError
from neurodx.models import PerPositionSliceEnsemble, SharedSliceCNN, predict_items, \
    seeded_network, train_network


@pytest.mark.parametrize("mode", ["embedding", "plane"])
def test_shape_and_fewer_parameters_than_the_ensemble(mode):
    arch = dict(input_size=(64, 64), depth=3, width=8)
    net = SharedSliceCNN(2, 31, position_mode=mode, **arch).eval()
    assert net(torch.randn(4, 1, 64, 64), torch.tensor([0, 7, 30, 7])).shape == (4, 2)
    assert net.n_parameters() * 20 < PerPositionSliceEnsemble(2, 31, **arch).n_parameters()


@pytest.mark.parametrize("mode", ["embedding", "plane"])
def test_the_position_changes_the_output(mode):
    torch.manual_seed(0)
    net = SharedSliceCNN(2, 5, position_mode=mode, input_size=(8, 8), depth=1, width=4).eval()
    x = torch.randn(1, 1, 8, 8).repeat(2, 1, 1, 1)
    out = net(x, torch.tensor([0, 4]))
    assert not torch.allclose(out[0], out[1])


def test_bad_mode_and_missing_positions():
    with pytest.raises(ConfigError, match="position_mode"):
        SharedSliceCNN(2, 5, position_mode="sinusoid")
    net = SharedSliceCNN(2, 5, input_size=(8, 8), depth=1)
    with pytest.raises(ConfigError, match="needs the slice position"):
        net(torch.randn(1, 1, 8, 8))
    with pytest.raises(ConfigError, match=r"in \[0, 5\)"):
        net(torch.randn(1, 1, 8, 8), torch.tensor([5]))


@pytest.mark.parametrize("mode", ["embedding", "plane"])
def test_learns_a_position_dependent_separable_set(mode, slice_items, fast_config):
    items = slice_items(n_positions=3, position_dependent=True, n_subjects=8, per_subject=9)
    net = seeded_network(lambda: SharedSliceCNN(2, 3, position_mode=mode, input_size=(12, 12),
                                                depth=2, width=8), 0)
    train_network(net, items, fast_config(epochs=15))
    assert np.mean(predict_items(net, items).argmax(1) == items.labels) >= 0.95
