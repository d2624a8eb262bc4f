"""One CNN per slice position, as in the methamphetamine fMRI study.

The study trains **31 CNNs, one per axial slice position** of 64x64 fMRI slices;
each network classifies the slices at its position, giving one result per
position (a majority vote over its frames), and the subject's label is the
majority vote of the position results (``voting="two_level"`` in
:class:`~neurodx.models.SliceVotingClassifier`). This module keeps the 31
networks in one :class:`torch.nn.Module` so they train, checkpoint and fine-tune
as one model: ``forward(x, positions)`` routes each slice to the network of its
position. Because each member only sees the slices of its own position, its
gradients are exactly those of training it alone (Adam/AdamW are per-parameter);
only early stopping picks one epoch for all members.

Each member is a :class:`~neurodx.models.SliceCNN`; the parameter count is
``n_positions`` times that of one member (see
:class:`~neurodx.models.SharedSliceCNN` for the shared-weights alternative).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError
from ._base import Network
from .slice_cnn import SliceCNN

__all__ = ["PerPositionSliceEnsemble"]


class PerPositionSliceEnsemble(Network):
    """``n_positions`` independent :class:`SliceCNN` networks, one per slice position.

    Parameters
    ----------
    n_classes : int
    n_positions : int
        Number of slice positions (31 in the fMRI study).
    input_size, in_channels, depth, width, growth, max_width, convs_per_stage, kernel_size, norm, dropout
        Passed to every member :class:`SliceCNN`.

    Notes
    -----
    ``forward(x, positions)``: ``x`` is ``(batch, in_channels, height, width)``,
    ``positions`` an integer tensor ``(batch,)`` in ``[0, n_positions)``. Returns
    logits ``(batch, n_classes)``.
    """

    uses_position = True

    def __init__(self, n_classes: int, n_positions: int, input_size: Sequence[int] = (64, 64),
                 in_channels: int = 1, depth: int = 4, width: int = 16, growth: float = 2.0,
                 max_width: int = 256, convs_per_stage: int = 1, kernel_size: int = 3,
                 norm: str = "batch", dropout: float = 0.3):
        super().__init__()
        if n_positions < 1:
            raise ConfigError(f"n_positions must be at least 1, got {n_positions}")
        member = dict(input_size=[int(s) for s in input_size], in_channels=int(in_channels),
                      depth=int(depth), width=int(width), growth=float(growth),
                      max_width=int(max_width), convs_per_stage=int(convs_per_stage),
                      kernel_size=int(kernel_size), norm=norm, dropout=float(dropout))
        self._config = dict(n_classes=int(n_classes), n_positions=int(n_positions), **member)
        self.n_positions = int(n_positions)
        self.n_classes = int(n_classes)
        self.members = nn.ModuleList(SliceCNN(n_classes, **member) for _ in range(n_positions))
        self.input_shape = self.members[0].input_shape

    def feature_extractors(self) -> list[nn.Module]:
        return [m.features for m in self.members]

    def forward(self, x: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        if positions is None:
            raise ConfigError("PerPositionSliceEnsemble needs the slice position of each input")
        self._check_input(x, self.input_shape)
        positions = positions.to(x.device).long()
        if positions.shape != (x.shape[0],):
            raise ConfigError(f"positions must have shape ({x.shape[0]},), "
                              f"got {tuple(positions.shape)}")
        if positions.numel() and (int(positions.min()) < 0
                                  or int(positions.max()) >= self.n_positions):
            raise ConfigError(f"slice positions must be in [0, {self.n_positions}), got "
                              f"{int(positions.min())}..{int(positions.max())}")
        out = None
        for pos in torch.unique(positions).tolist():   # sorted: a fixed order of members
            idx = torch.nonzero(positions == pos).squeeze(1)
            logits = self.members[pos](x.index_select(0, idx))
            if out is None:
                out = logits.new_zeros((x.shape[0], self.n_classes))
            out = out.index_copy(0, idx, logits)
        if out is None:
            out = x.new_zeros((0, self.n_classes))
        return out
