"""A plain, tutorial-size 2-D CNN for image slices (the CT validation peer's network).

Three 5x5 convolution + ReLU + 2x2 max-pool blocks (8, 16, 32 filters) and two linear
layers (64 units, then the classes): the size of PyTorch's "Training a classifier"
tutorial network, the network of ``validation/peers/ct_plain_cnn.py``. No
normalisation layers, so nothing depends on batch statistics.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ...errors import ConfigError
from .._base import Network

__all__ = ["PlainCNN"]


class PlainCNN(Network):
    """conv(8)-pool-conv(16)-pool-conv(32)-pool-fc(64)-fc(n_classes) on slices.

    Parameters
    ----------
    n_classes : int
    input_size : (int, int)
        Slice shape; both sides are divided by 8 by the poolings.
    in_channels : int
    """

    def __init__(self, n_classes: int, input_size: Sequence[int] = (128, 128),
                 in_channels: int = 1):
        super().__init__()
        input_size = tuple(int(s) for s in input_size)
        if n_classes < 2:
            raise ConfigError(f"n_classes must be at least 2, got {n_classes}")
        if min(input_size) < 8:
            raise ConfigError(f"PlainCNN needs slices of at least 8 x 8 pixels, got {input_size}")
        self._config = dict(n_classes=int(n_classes), input_size=list(input_size),
                            in_channels=int(in_channels))
        self.input_shape = (int(in_channels), *input_size)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
        side = (input_size[0] // 8) * (input_size[1] // 8)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * side, 64), nn.ReLU(),
                                  nn.Linear(64, n_classes))

    def forward(self, x: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        self._check_input(x, self.input_shape)
        return self.head(self.features(x))
