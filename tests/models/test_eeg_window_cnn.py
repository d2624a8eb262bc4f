import numpy as np
import pytest
import torch
from torch import nn

from neurodx.errors import ConfigError
from neurodx.models import EEG_DEEP7, EEGWindowCNN, predict_items, seeded_network, train_network
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
