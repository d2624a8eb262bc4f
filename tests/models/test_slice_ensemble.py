import numpy as np
import pytest
import torch

from neurodx.errors import ConfigError
from neurodx.models import PerPositionSliceEnsemble, SliceCNN, predict_items, seeded_network, \
    train_network


def test_shape_and_one_network_per_position():
    net = PerPositionSliceEnsemble(3, 31, input_size=(64, 64), depth=3, width=4).eval()
    out = net(torch.randn(6, 1, 64, 64), torch.tensor([0, 30, 5, 5, 12, 0]))
    assert out.shape == (6, 3)
    assert len(net.members) == 31
    one = SliceCNN(3, input_size=(64, 64), depth=3, width=4)
    assert net.n_parameters() == 31 * one.n_parameters()


def test_each_slice_goes_to_the_network_of_its_position():
    torch.manual_seed(0)
    net = PerPositionSliceEnsemble(2, 4, input_size=(8, 8), depth=1, width=3).eval()
    x = torch.randn(5, 1, 8, 8)
    pos = torch.tensor([3, 1, 3, 0, 2])
    out = net(x, pos)
    for i in range(5):
        expected = net.members[int(pos[i])](x[i:i + 1])
        assert torch.allclose(out[i], expected[0], atol=1e-6)
    # Another member would give another answer (the routing matters).
    assert not torch.allclose(out[0], net.members[0](x[:1])[0])


def test_positions_are_required_and_checked():
    net = PerPositionSliceEnsemble(2, 4, input_size=(8, 8), depth=1, width=3)
    with pytest.raises(ConfigError, match="needs the slice position"):
        net(torch.randn(2, 1, 8, 8))
    with pytest.raises(ConfigError, match=r"in \[0, 4\)"):
        net(torch.randn(2, 1, 8, 8), torch.tensor([0, 4]))


def test_members_only_learn_from_their_own_slices(slice_items, fast_config):
    items = slice_items(n_positions=3)
    keep = items.positions != 2            # no slice of position 2 at all
    items.data, items.labels = items.data[keep], items.labels[keep]
    items.groups, items.positions = items.groups[keep], items.positions[keep]
    def make():
        return PerPositionSliceEnsemble(2, 3, input_size=(12, 12), depth=1, width=4)
    net = seeded_network(make, 0)
    initial = seeded_network(make, 0)
    train_network(net, items, fast_config(epochs=2))
    for member, unchanged in ((0, False), (1, False), (2, True)):
        before, after = initial.members[member].state_dict(), net.members[member].state_dict()
        assert all(torch.equal(before[k], after[k]) for k in before) is unchanged


def test_learns_a_position_dependent_separable_set(slice_items, fast_config):
    items = slice_items(n_positions=3, position_dependent=True, n_subjects=8, per_subject=9)
    net = seeded_network(lambda: PerPositionSliceEnsemble(2, 3, input_size=(12, 12), depth=2,
                                                          width=6), 0)
    train_network(net, items, fast_config(epochs=15))
    assert np.mean(predict_items(net, items).argmax(1) == items.labels) >= 0.95
