"""A 7-layer deep ConvNet for multichannel EEG windows, after Deep4Net.

Follows the *Deep ConvNet* of Schirrmeister et al. (2017), "Deep learning with
convolutional neural networks for EEG decoding and visualization", Human Brain
Mapping 38(11):5391-5420, https://doi.org/10.1002/hbm.23730 (braindecode's
``Deep4Net``):

1. a temporal convolution (``n_filters_time`` filters of ``filter_time_length`` samples),
2. a spatial convolution across all EEG channels (the "split first layer"),
   then batch normalisation, ELU and max pooling over time,
3. ``len(block_filters)`` conv-pool blocks (dropout, temporal convolution, batch
   normalisation, ELU, max pooling),
4. a classifier head (``head``): ``"dense"``, Deep4Net's dense classifier over the
   remaining feature map (its ``conv_classifier`` with ``final_conv_length="auto"``:
   one weight per filter *and time position*), or a head that pools over time first
   and so has one weight per filter (below).

With the default four conv-pool blocks the network has **7 weight layers**
(2 + 4 convolutions, 1 dense), the depth used for the HC/FES/CHR study; Deep4Net
itself has three blocks (6 layers, ``block_filters=(50, 100, 200)``).
Differences from the paper, both configurable: the block convolutions use
``'same'`` padding by default (``block_padding="valid"`` is the paper's choice) so a
2-s window at 128 Hz survives a fourth block, and the classifier is a
:class:`torch.nn.Linear` returning logits (the loss applies the softmax).

Heads
-----
A dense head over time positions suits trials locked to an event, where *when* a
feature occurs carries the class. In resting or continuous EEG the class lives in
band power, wherever it falls in a window; two heads pool over time first:

``"mean"``
    Global average pooling of each filter over the remaining time samples (Lin et al.
    2014, "Network in network"), then the linear classifier.
``"logpower"``
    The log of each filter's mean square over time, then the linear classifier: the
    log band-power features of Schirrmeister et al.'s *Shallow* ConvNet (square,
    mean pooling, log; braindecode's ``ShallowFBCSPNet``) taken at the end of the
    stack. With ``block_filters=()`` the network is that shallow design: temporal and
    spatial convolution, batch normalisation, then log power (the square is then the
    only nonlinearity: the first stage's ELU is left out).

Both are invariant to where in the window the features fall and have far fewer
weights than the dense head on long windows. ``EEG_DEEP7`` keeps the published
dense head; ``EEG_SHALLOW`` names the shallow log-power design.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import init

from ..errors import ConfigError
from ._base import Network

__all__ = ["EEGWindowCNN", "EEG_DEEP7", "EEG_SHALLOW", "HEADS", "output_length",
           "min_input_samples"]

#: ``head`` of :class:`EEGWindowCNN` (module docstring).
HEADS = ("dense", "mean", "logpower")

#: The 7-layer network of the HC/FES/CHR study (Deep4Net widths plus a fourth block).
EEG_DEEP7 = dict(n_filters_time=25, n_filters_spat=25, filter_time_length=10,
                 block_filters=(50, 100, 200, 200), filter_length=10, pool_length=3,
                 pool_stride=3, dropout=0.5, block_padding="same", head="dense")

#: The shallow log-power design (module docstring, "Heads"): no conv-pool blocks.
EEG_SHALLOW = dict(n_filters_time=40, n_filters_spat=40, filter_time_length=25,
                   block_filters=(), pool_length=1, pool_stride=1, dropout=0.5,
                   head="logpower")


class _LogPower(nn.Module):
    """``log(mean over time of x**2)`` per filter: ``(batch, filters, 1, t) -> (batch, filters)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The floor keeps the log finite for a filter that is silent on a window.
        return torch.log(torch.clamp(x.square().mean(dim=(2, 3)), min=1e-6))


def output_length(n_samples: int, filter_time_length: int, n_blocks: int, filter_length: int,
                  pool_length: int, pool_stride: int, block_padding: str) -> int:
    """Time samples left after the convolution/pooling stack (<= 0: window too short)."""
    def pool(t):
        return (t - pool_length) // pool_stride + 1 if t >= pool_length else 0

    t = pool(n_samples - filter_time_length + 1)
    for _ in range(n_blocks):
        if t <= 0:
            return 0
        t = pool(t if block_padding == "same" else t - filter_length + 1)
    return t


def min_input_samples(filter_time_length: int, n_blocks: int, filter_length: int,
                      pool_length: int, pool_stride: int, block_padding: str) -> int:
    """The shortest window (samples) that leaves one time sample after the stack.

    Walks the stack backwards: a max pooling that must output ``m`` samples needs
    ``(m - 1) * pool_stride + pool_length`` inputs, and a ``'valid'`` convolution
    of length ``k`` needs ``k - 1`` more (``'same'`` keeps the length).
    """
    need = 1
    for _ in range(n_blocks):
        need = (need - 1) * pool_stride + pool_length
        if block_padding != "same":
            need += filter_length - 1
    need = (need - 1) * pool_stride + pool_length
    return need + filter_time_length - 1


class EEGWindowCNN(Network):
    """Deep4Net-style CNN on ``(n_channels, n_samples)`` EEG windows (module docstring).

    Parameters
    ----------
    n_classes : int
    n_channels : int
        EEG channels of every window (64 in the HC/FES/CHR study).
    n_samples : int
        Samples per window.
    n_filters_time, n_filters_spat : int
        Filters of the temporal and spatial first-layer convolutions.
    filter_time_length : int
        Length (samples) of the first temporal convolution.
    block_filters : sequence of int
        Filters of each conv-pool block (4 blocks: 7 weight layers in all).
    filter_length : int
        Temporal kernel of the blocks.
    pool_length, pool_stride : int
        Max pooling over time after each stage.
    dropout : float
        Dropout before each block convolution (Deep4Net's ``drop_prob``).
    block_padding : {"same", "valid"}
    head : {"dense", "mean", "logpower"}
        Classifier head (module docstring): ``"dense"`` over time positions (the
        published design), ``"mean"`` global average pooling, ``"logpower"`` log of
        the mean square over time.

    Notes
    -----
    ``forward(x)`` takes ``(batch, n_channels, n_samples)`` and returns logits
    ``(batch, n_classes)``.
    """

    def __init__(self, n_classes: int, n_channels: int, n_samples: int,
                 n_filters_time: int = 25, n_filters_spat: int = 25,
                 filter_time_length: int = 10,
                 block_filters: Sequence[int] = (50, 100, 200, 200), filter_length: int = 10,
                 pool_length: int = 3, pool_stride: int = 3, dropout: float = 0.5,
                 block_padding: str = "same", head: str = "dense"):
        super().__init__()
        if n_classes < 2:
            raise ConfigError(f"n_classes must be at least 2, got {n_classes}")
        if n_channels < 1:
            raise ConfigError(f"n_channels must be at least 1, got {n_channels}")
        if block_padding not in ("same", "valid"):
            raise ConfigError(f"block_padding must be 'same' or 'valid', got {block_padding!r}")
        if not 0 <= dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        if head not in HEADS:
            raise ConfigError(f"head must be one of {', '.join(HEADS)}, got {head!r}")
        block_filters = [int(f) for f in block_filters]
        self._config = dict(n_classes=int(n_classes), n_channels=int(n_channels),
                            n_samples=int(n_samples), n_filters_time=int(n_filters_time),
                            n_filters_spat=int(n_filters_spat),
                            filter_time_length=int(filter_time_length),
                            block_filters=block_filters, filter_length=int(filter_length),
                            pool_length=int(pool_length), pool_stride=int(pool_stride),
                            dropout=float(dropout), block_padding=block_padding,
                            head=head)
        geometry = (filter_time_length, len(block_filters), filter_length, pool_length,
                    pool_stride, block_padding)
        n_out = output_length(n_samples, *geometry)
        if n_out < 1:
            shortest = min_input_samples(*geometry)
            raise ConfigError(f"windows of {n_samples} samples are too short for this "
                              f"network: it needs at least {shortest} samples (use longer "
                              "windows, fewer blocks or smaller pooling)")
        self.input_shape = (int(n_channels), int(n_samples))

        layers: list[tuple[str, nn.Module]] = [
            ("conv_time", nn.Conv2d(1, n_filters_time, (1, filter_time_length))),
            ("conv_spat", nn.Conv2d(n_filters_time, n_filters_spat, (n_channels, 1),
                                    bias=False)),
            ("bnorm", nn.BatchNorm2d(n_filters_spat, momentum=0.1)),
        ]
        # Without blocks the log-power head's square is the nonlinearity (Shallow
        # ConvNet): an ELU before it would fold negative amplitudes into -1 to 0.
        if block_filters or head != "logpower":
            layers.append(("nonlin", nn.ELU()))
        layers.append(("pool", nn.MaxPool2d((1, pool_length), stride=(1, pool_stride))))
        prev = n_filters_spat
        for i, n_filters in enumerate(block_filters, start=2):
            layers.append((f"drop_{i}", nn.Dropout(dropout)))
            if block_padding == "same":   # explicit padding: even kernels need asymmetric pads
                left = (filter_length - 1) // 2
                layers.append((f"pad_{i}", nn.ZeroPad2d((left, filter_length - 1 - left, 0, 0))))
            layers += [
                (f"conv_{i}", nn.Conv2d(prev, n_filters, (1, filter_length), bias=False)),
                (f"bnorm_{i}", nn.BatchNorm2d(n_filters, momentum=0.1)),
                (f"nonlin_{i}", nn.ELU()),
                (f"pool_{i}", nn.MaxPool2d((1, pool_length), stride=(1, pool_stride))),
            ]
            prev = n_filters
        self.features = nn.Sequential(OrderedDict(layers))
        if head == "dense":
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(prev * n_out, n_classes))
        elif head == "mean":
            self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                            nn.Linear(prev, n_classes))
        else:
            self.classifier = nn.Sequential(_LogPower(), nn.Dropout(dropout),
                                            nn.Linear(prev, n_classes))
        # Initialisation of Deep4Net: Glorot-uniform weights, zero biases, unit BN scales.
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                init.xavier_uniform_(module.weight, gain=1)
                if module.bias is not None:
                    init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                init.ones_(module.weight)
                init.zeros_(module.bias)

    def forward(self, x: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        self._check_input(x, self.input_shape)
        return self.classifier(self.features(x.unsqueeze(1)))
