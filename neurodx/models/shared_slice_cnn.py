"""One shared-weights slice CNN that is told the slice position.

An alternative to the per-position ensemble of the fMRI study
(:class:`~neurodx.models.PerPositionSliceEnsemble`): a single
:class:`~neurodx.models.SliceCNN` backbone sees the slices of every position, so it
has ``n_positions`` times fewer parameters and ``n_positions`` times more training
slices, and receives the slice index in one of two ways:

* ``position_mode="embedding"`` (default): a learned position embedding
  (``position_dim`` numbers per slice index, as the learned position embeddings
  of Gehring et al. 2017, "Convolutional sequence to sequence learning", ICML) is
  concatenated to the pooled image features before the classifier;
* ``position_mode="plane"``: an extra constant input plane holding the relative
  position ``2 * index / (n_positions - 1) - 1`` in ``[-1, 1]`` (the "coordinate
  channel" of Liu et al. 2018, "An intriguing failing of convolutional neural
  networks and the CoordConv solution", NeurIPS), so convolutions can condition on it.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError
from ._base import Network
from .slice_cnn import build_features, stage_widths

__all__ = ["SharedSliceCNN", "POSITION_MODES"]

POSITION_MODES = ("embedding", "plane")


class SharedSliceCNN(Network):
    """A single slice CNN shared by all slice positions (see the module docstring).

    Parameters
    ----------
    n_classes : int
    n_positions : int
        Number of slice positions the network knows.
    position_mode : {"embedding", "plane"}
    position_dim : int
        Size of the learned embedding (``position_mode="embedding"``).
    input_size, in_channels, depth, width, growth, max_width, convs_per_stage, kernel_size, norm, dropout
        As for :class:`~neurodx.models.SliceCNN`.

    Notes
    -----
    ``forward(x, positions)``: ``x`` is ``(batch, in_channels, height, width)``,
    ``positions`` integers ``(batch,)`` in ``[0, n_positions)``. Returns logits.
    """

    uses_position = True

    def __init__(self, n_classes: int, n_positions: int, position_mode: str = "embedding",
                 position_dim: int = 8, input_size: Sequence[int] = (64, 64),
                 in_channels: int = 1, depth: int = 4, width: int = 16, growth: float = 2.0,
                 max_width: int = 256, convs_per_stage: int = 1, kernel_size: int = 3,
                 norm: str = "batch", dropout: float = 0.3):
        super().__init__()
        if n_classes < 2:
            raise ConfigError(f"n_classes must be at least 2, got {n_classes}")
        if n_positions < 1:
            raise ConfigError(f"n_positions must be at least 1, got {n_positions}")
        if position_mode not in POSITION_MODES:
            raise ConfigError(f"position_mode must be one of {', '.join(POSITION_MODES)}, "
                              f"got {position_mode!r}")
        if not 0 <= dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        input_size = tuple(int(s) for s in input_size)
        self._config = dict(n_classes=int(n_classes), n_positions=int(n_positions),
                            position_mode=position_mode, position_dim=int(position_dim),
                            input_size=list(input_size), in_channels=int(in_channels),
                            depth=int(depth), width=int(width), growth=float(growth),
                            max_width=int(max_width), convs_per_stage=int(convs_per_stage),
                            kernel_size=int(kernel_size), norm=norm, dropout=float(dropout))
        self.n_positions = int(n_positions)
        self.position_mode = position_mode
        self.input_shape = (int(in_channels), *input_size)
        widths = stage_widths(depth, width, growth, max_width)
        extra_plane = 1 if position_mode == "plane" else 0
        self.features = build_features(in_channels + extra_plane, input_size, widths,
                                       convs_per_stage, kernel_size, norm)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        n_in = widths[-1]
        if position_mode == "embedding":
            if position_dim < 1:
                raise ConfigError(f"position_dim must be at least 1, got {position_dim}")
            self.position_embedding = nn.Embedding(n_positions, position_dim)
            n_in += position_dim
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(n_in, n_classes))

    def forward(self, x: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        if positions is None:
            raise ConfigError("SharedSliceCNN needs the slice position of each input")
        self._check_input(x, self.input_shape)
        positions = positions.to(x.device).long()
        if positions.numel() and (int(positions.min()) < 0
                                  or int(positions.max()) >= self.n_positions):
            raise ConfigError(f"slice positions must be in [0, {self.n_positions}), got "
                              f"{int(positions.min())}..{int(positions.max())}")
        if self.position_mode == "plane":
            rel = positions.to(x.dtype) * (2.0 / max(self.n_positions - 1, 1)) - 1.0
            plane = rel.view(-1, 1, 1, 1).expand(-1, 1, *x.shape[2:])
            return self.classifier(self.pool(self.features(torch.cat([x, plane], dim=1))))
        feats = self.pool(self.features(x))
        return self.classifier(torch.cat([feats, self.position_embedding(positions)], dim=1))
