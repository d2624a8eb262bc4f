"""A configurable 2-D CNN for image slices (fMRI frames, CT slices).

The network is a plain VGG-style stack (Simonyan & Zisserman 2015,
"Very deep convolutional networks for large-scale image recognition", ICLR):
``depth`` stages of ``convs_per_stage`` 3x3 convolutions, each followed by a
normalisation layer and ReLU, with 2x2 max pooling after each stage while the
feature map is at least 2 pixels wide, then global pooling, dropout and one
linear layer. Global *average* pooling (the default) suits a pattern spread over
the slice; global *max* pooling (``pooling="max"``) keeps the strongest response
anywhere, which suits a small lesion: a bleed covering 1 % of the slice is
averaged away by the 99 % of normal tissue but is the maximum of its feature map
(Oquab et al. 2015, "Is object localization for free?", CVPR).

Two presets follow the studies neurodx reproduces:

* :data:`FMRI_SLICE_CNN` -- one network of the per-slice-position ensemble of the
  methamphetamine fMRI study (64x64 slices; 31 such networks, one per slice);
* :data:`CT_SLICE_CNN` -- the brain-CT network with **7 convolutional layers** on
  256x256 images; several Hounsfield-unit windows may be stacked as input channels
  (``in_channels=3`` for brain / subdural / bone windows).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError
from ._base import Network, make_norm

__all__ = ["SliceCNN", "FMRI_SLICE_CNN", "CT_SLICE_CNN", "ct_slice_cnn", "stage_widths",
           "GLOBAL_POOLINGS"]

#: ``pooling`` of :class:`SliceCNN`: the global pooling before the classifier.
GLOBAL_POOLINGS = ("avg", "max")

#: One network of the fMRI per-slice-position ensemble (64x64 slices, one frame).
FMRI_SLICE_CNN = dict(input_size=(64, 64), in_channels=1, depth=4, width=16, growth=2.0,
                      max_width=128, convs_per_stage=1, norm="batch", dropout=0.3)
#: The brain-CT network: 7 convolutional layers on 256x256 images (2 px after 7 poolings).
CT_SLICE_CNN = dict(input_size=(256, 256), in_channels=1, depth=7, width=16, growth=2.0,
                    max_width=128, convs_per_stage=1, norm="batch", dropout=0.5)


def stage_widths(depth: int, width: int, growth: float, max_width: int) -> list[int]:
    """Number of filters of each stage: ``min(max_width, round(width * growth**i))``."""
    if depth < 1:
        raise ConfigError(f"depth must be at least 1, got {depth}")
    if width < 1:
        raise ConfigError(f"width must be at least 1, got {width}")
    return [int(min(max_width, round(width * growth ** i))) for i in range(depth)]


def build_features(in_channels: int, input_size: Sequence[int], widths: Sequence[int],
                   convs_per_stage: int, kernel_size: int, norm: str) -> nn.Sequential:
    """The convolutional part: stages of conv-norm-ReLU, then 2x2 max pooling."""
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ConfigError(f"kernel_size must be an odd positive integer, got {kernel_size}")
    if convs_per_stage < 1:
        raise ConfigError(f"convs_per_stage must be at least 1, got {convs_per_stage}")
    layers: list[nn.Module] = []
    size = list(input_size)
    channels = in_channels
    for width in widths:
        for _ in range(convs_per_stage):
            layers += [nn.Conv2d(channels, width, kernel_size, padding=kernel_size // 2,
                                 bias=norm == "none"),
                       make_norm(norm, width), nn.ReLU(inplace=True)]
            channels = width
        if min(size) >= 2:
            layers.append(nn.MaxPool2d(2))
            size = [s // 2 for s in size]
    return nn.Sequential(*layers)


class SliceCNN(Network):
    """VGG-style 2-D CNN classifying one slice (see the module docstring).

    Parameters
    ----------
    n_classes : int
        Number of output classes.
    input_size : (int, int)
        Height and width of the slices; other sizes are refused in ``forward``.
    in_channels : int
        Input planes (1 for fMRI; CT may stack several HU windows).
    depth : int
        Number of stages (= convolutional layers when ``convs_per_stage=1``).
    width, growth, max_width : int, float, int
        Filters of stage ``i``: ``min(max_width, round(width * growth**i))``.
    convs_per_stage : int
        Convolutions before each pooling.
    kernel_size : int
        Odd convolution size ('same' padding).
    norm : {"batch", "instance", "group", "none"}
        Normalisation after each convolution.
    dropout : float
        Dropout before the linear classifier.
    pooling : {"avg", "max"}
        Global pooling of the last feature maps (module docstring).

    Notes
    -----
    ``forward(x)`` takes ``(batch, in_channels, height, width)`` float tensors and
    returns class logits ``(batch, n_classes)``. A ``positions`` argument is
    accepted and ignored, so all slice networks share one call signature.
    """

    def __init__(self, n_classes: int, input_size: Sequence[int] = (64, 64), in_channels: int = 1,
                 depth: int = 4, width: int = 16, growth: float = 2.0, max_width: int = 256,
                 convs_per_stage: int = 1, kernel_size: int = 3, norm: str = "batch",
                 dropout: float = 0.3, pooling: str = "avg"):
        super().__init__()
        if n_classes < 2:
            raise ConfigError(f"n_classes must be at least 2, got {n_classes}")
        if pooling not in GLOBAL_POOLINGS:
            raise ConfigError(f"pooling must be one of {', '.join(GLOBAL_POOLINGS)}, "
                              f"got {pooling!r}")
        input_size = tuple(int(s) for s in input_size)
        if len(input_size) != 2 or min(input_size) < 1:
            raise ConfigError(f"input_size must be (height, width), got {input_size}")
        if not 0 <= dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        self._config = dict(n_classes=int(n_classes), input_size=list(input_size),
                            in_channels=int(in_channels), depth=int(depth), width=int(width),
                            growth=float(growth), max_width=int(max_width),
                            convs_per_stage=int(convs_per_stage), kernel_size=int(kernel_size),
                            norm=norm, dropout=float(dropout), pooling=pooling)
        self.input_shape = (int(in_channels), *input_size)
        widths = stage_widths(depth, width, growth, max_width)
        self.features = build_features(in_channels, input_size, widths, convs_per_stage,
                                       kernel_size, norm)
        pool = nn.AdaptiveMaxPool2d(1) if pooling == "max" else nn.AdaptiveAvgPool2d(1)
        self.pool = nn.Sequential(pool, nn.Flatten())
        self.n_features = widths[-1]
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(widths[-1], n_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``(batch, n_features)`` before the classifier."""
        self._check_input(x, self.input_shape)
        return self.pool(self.features(x))

    def forward(self, x: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        return self.classifier(self.embed(x))


def ct_slice_cnn(n_classes: int, in_channels: int = 1, **overrides) -> SliceCNN:
    """The 7-convolutional-layer brain-CT network (:data:`CT_SLICE_CNN`)."""
    return SliceCNN(n_classes, **{**CT_SLICE_CNN, "in_channels": in_channels, **overrides})
