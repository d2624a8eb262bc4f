"""ResNet-18 (He et al. 2016) for image slices, trained from scratch.

The architecture of torchvision's ``resnet18`` -- ``ResNet(BasicBlock, [2, 2, 2, 2])``
in ``torchvision/models/resnet.py`` (https://github.com/pytorch/vision, BSD-3):
a 7x7 stride-2 convolution, batch norm, ReLU and 3x3 stride-2 max pooling, four
stages of two basic blocks (64, 128, 256, 512 filters; stride 2 from the second
stage, a 1x1 convolution + batch norm on the shortcut where the shape changes),
global average pooling and one linear layer; Kaiming-normal (fan-out) convolution
weights, unit batch-norm scales. Only ``in_channels`` differs (CT windows or grey
levels instead of RGB).

Written here rather than imported because torchvision cannot be installed beside
neurodx's CPU-only torch without pulling a CUDA torch of several gigabytes; no
pretrained weights are used (the issue asks for training from scratch, and
downloading weights would be a hidden dependency), so the class is all that is
needed. Reference: K. He, X. Zhang, S. Ren, J. Sun (2016), "Deep residual learning
for image recognition", CVPR, https://doi.org/10.1109/CVPR.2016.90.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ...errors import ConfigError
from .._base import Network

__all__ = ["ResNet18", "BasicBlock"]


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1 projection) shortcut."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride,
                                                      bias=False), nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(Network):
    """torchvision's ResNet-18 on ``(in_channels, *input_size)`` slices (module docstring).

    Parameters
    ----------
    n_classes : int
    input_size : (int, int)
    in_channels : int
    """

    def __init__(self, n_classes: int, input_size: Sequence[int] = (128, 128),
                 in_channels: int = 1):
        super().__init__()
        if n_classes < 2:
            raise ConfigError(f"n_classes must be at least 2, got {n_classes}")
        input_size = tuple(int(s) for s in input_size)
        if min(input_size) < 32:
            raise ConfigError(f"ResNet-18 needs slices of at least 32 x 32 pixels, got "
                              f"{input_size} (set slice_shape)")
        self._config = dict(n_classes=int(n_classes), input_size=list(input_size),
                            in_channels=int(in_channels))
        self.input_shape = (int(in_channels), *input_size)
        layers, in_planes = [], 64
        for i, planes in enumerate((64, 128, 256, 512)):
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(BasicBlock(in_planes, planes, stride),
                                        BasicBlock(planes, planes)))
            in_planes = planes
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64),
            nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1), *layers,
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(512, n_classes)
        for m in self.modules():       # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        self._check_input(x, self.input_shape)
        return self.fc(self.features(x))
