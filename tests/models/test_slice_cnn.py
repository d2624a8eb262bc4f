import numpy as np
import pytest
import torch
from torch import nn

from neurodx.errors import ConfigError
from neurodx.models import CT_SLICE_CNN, SliceCNN, ct_slice_cnn, predict_items, seeded_network, \
    train_network


@pytest.mark.parametrize("kwargs, x_shape", [
    (dict(input_size=(64, 64)), (3, 1, 64, 64)),
    (dict(input_size=(20, 36), in_channels=2, depth=2, width=4, norm="instance"), (2, 2, 20, 36)),
    (dict(input_size=(16, 16), depth=6, width=2, norm="group", convs_per_stage=2), (1, 1, 16, 16)),
    (dict(input_size=(8, 8), depth=1, width=3, norm="none", dropout=0.0), (5, 1, 8, 8)),
])
def test_output_shape(kwargs, x_shape):
    net = SliceCNN(4, **kwargs).eval()
    assert net(torch.randn(*x_shape)).shape == (x_shape[0], 4)


def test_ct_preset_has_seven_conv_layers_on_256_images_with_hu_windows_as_channels():
    net = ct_slice_cnn(3, in_channels=3).eval()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 7 and CT_SLICE_CNN["depth"] == 7
    assert convs[0].in_channels == 3
    assert net(torch.randn(2, 3, 256, 256)).shape == (2, 3)


def test_width_and_depth_are_honoured():
    net = SliceCNN(2, input_size=(32, 32), depth=3, width=5, growth=2.0, max_width=12)
    assert [m.out_channels for m in net.modules() if isinstance(m, nn.Conv2d)] == [5, 10, 12]


def test_wrong_input_shape_is_refused():
    net = SliceCNN(2, input_size=(16, 16))
    with pytest.raises(ConfigError, match=r"expects inputs of shape \(batch, 1, 16, 16\)"):
        net(torch.randn(2, 1, 16, 17))


@pytest.mark.parametrize("bad, message", [
    (dict(norm="layer"), "norm must be one of"), (dict(depth=0), "depth"),
    (dict(dropout=1.0), "dropout"), (dict(kernel_size=4), "kernel_size"),
])
def test_bad_configuration(bad, message):
    with pytest.raises(ConfigError, match=message):
        SliceCNN(2, **{"input_size": (16, 16), **bad})


def test_learns_a_separable_set(slice_items, fast_config):
    items = slice_items()
    net = seeded_network(lambda: SliceCNN(2, input_size=(12, 12), depth=2, width=8), 0)
    train_network(net, items, fast_config(epochs=12))
    accuracy = np.mean(predict_items(net, items).argmax(1) == items.labels)
    held_out = slice_items(seed=1)
    assert accuracy >= 0.95
    assert np.mean(predict_items(net, held_out).argmax(1) == held_out.labels) >= 0.95
