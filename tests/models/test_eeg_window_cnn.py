import numpy as np
import pytest
import torch
from torch import nn

from neurodx.errors import ConfigError
from neurodx.models import (EEG_DEEP7, EEG_SHALLOW, EEGWindowCNN, predict_items, seeded_network,
                            train_network)
from neurodx.models.eeg_window_cnn import output_length


def test_seven_weight_layers_and_output_shape_on_64_channels():
    net = EEGWindowCNN(3, 64, 256, **EEG_DEEP7).eval()
    weights = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weights) == 7
    assert net(torch.randn(2, 64, 256)).shape == (2, 3)


def test_deep4net_geometry_with_valid_padding():
    # Deep4Net (3 blocks, valid padding) on 1000-sample windows: 1000-9=991 ->330 ->107 ->32 ->7
    assert output_length(1000, 10, 3, 10, 3, 3, "valid") == 7
    net = EEGWindowCNN(4, 22, 1000, block_filters=(50, 100, 200), block_padding="valid").eval()
    assert net.classifier[1].in_features == 200 * 7
    assert net(torch.randn(1, 22, 1000)).shape == (1, 4)


def test_too_short_windows_and_wrong_channels_are_refused():
    with pytest.raises(ConfigError, match="needs at least 252 samples"):
        EEGWindowCNN(2, 64, 100)
    net = EEGWindowCNN(2, 8, 256, block_filters=(4, 4, 4, 4))
    with pytest.raises(ConfigError, match=r"\(batch, 8, 256\)"):
        net(torch.randn(1, 9, 256))


def test_learns_a_separable_set(window_items, fast_config):
    items = window_items(n_channels=4, n_samples=64)
    net = seeded_network(lambda: EEGWindowCNN(2, 4, 64, n_filters_time=4, n_filters_spat=4,
                                              filter_time_length=5, block_filters=(8, 8),
                                              filter_length=3, pool_length=2, pool_stride=2,
                                              dropout=0.1), 0)
    train_network(net, items, fast_config(epochs=15))
    held_out = window_items(n_channels=4, n_samples=64, seed=1)
    assert np.mean(predict_items(net, items).argmax(1) == items.labels) >= 0.95
    assert np.mean(predict_items(net, held_out).argmax(1) == held_out.labels) >= 0.95


@pytest.mark.parametrize("head", ["mean", "logpower"])
def test_pooling_heads_have_one_weight_per_filter(head):
    net = EEGWindowCNN(3, 8, 256, block_filters=(4, 6), head=head).eval()
    assert net.classifier[-1].in_features == 6          # not 6 x remaining time samples
    out = net(torch.randn(5, 8, 256))
    assert out.shape == (5, 3) and torch.all(torch.isfinite(out))
    assert net.get_config()["head"] == head


def test_pooling_heads_do_not_care_where_a_burst_falls():
    # A circular shift of the window leaves the mean and the mean square over time (nearly)
    # unchanged; the dense head weighs each time position separately.
    torch.manual_seed(0)
    x = torch.randn(1, 4, 128)
    shifted = torch.roll(x, 64, dims=2)
    outs = {}
    for head in ("dense", "logpower"):
        net = seeded_network(lambda: EEGWindowCNN(2, 4, 128, n_filters_time=3, n_filters_spat=3,
                                                  filter_time_length=1, block_filters=(),
                                                  pool_length=1, pool_stride=1,
                                                  head=head), 0).eval()
        outs[head] = (net(x) - net(shifted)).abs().max().item()
    assert outs["logpower"] < 1e-4 < outs["dense"]


def test_shallow_design_is_conv_conv_bn_logpower():
    net = EEGWindowCNN(2, 16, 500, **EEG_SHALLOW).eval()
    kinds = [type(m).__name__ for m in net.features]
    assert kinds == ["Conv2d", "Conv2d", "BatchNorm2d", "MaxPool2d"]    # no ELU before the square
    assert [type(m).__name__ for m in net.classifier] == ["_LogPower", "Dropout", "Linear"]
    assert net(torch.randn(3, 16, 500)).shape == (3, 2)


def test_unknown_head_is_refused():
    with pytest.raises(ConfigError, match="head must be one of dense, mean, logpower"):
        EEGWindowCNN(2, 8, 256, head="max")


def test_logpower_head_training_is_deterministic_and_learns(window_items, fast_config):
    items = window_items(n_channels=4, n_samples=64)

    def fit():
        net = seeded_network(lambda: EEGWindowCNN(2, 4, 64, n_filters_time=4, n_filters_spat=4,
                                                  filter_time_length=5, block_filters=(),
                                                  pool_length=1, pool_stride=1, dropout=0.1,
                                                  head="logpower"), 0)
        train_network(net, items, fast_config(epochs=10))
        return net

    a, b = fit(), fit()
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(pa, pb)
    held_out = window_items(n_channels=4, n_samples=64, seed=1)
    assert np.mean(predict_items(a, held_out).argmax(1) == held_out.labels) >= 0.95
