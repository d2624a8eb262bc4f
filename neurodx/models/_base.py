"""What every neurodx network shares: a JSON-able config, a position flag, a feature part.

Networks are plain :class:`torch.nn.Module` subclasses. The training engine, the
checkpoints and the estimators only rely on the small contract of :class:`Network`:

* ``get_config()`` returns the constructor keyword arguments (JSON-able), so a
  network is rebuilt from a manifest with ``NETWORKS[name](**config)``;
* ``uses_position`` says whether ``forward(x, positions)`` needs the slice index;
* ``feature_extractors()`` lists the convolutional modules, the part frozen when a
  trained network is fine-tuned on a new cohort (``freeze_features=True``).
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError

__all__ = ["Network", "make_norm", "NORMS"]

#: Normalisation layers accepted by the 2-D networks.
NORMS = ("batch", "instance", "group", "none")


class Network(nn.Module):
    """Base class of neurodx networks (see the module docstring)."""

    #: ``forward`` needs the slice position of each input.
    uses_position: bool = False

    def get_config(self) -> dict:
        return dict(self._config)

    def feature_extractors(self) -> list[nn.Module]:
        return [self.features]

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _check_input(self, x: torch.Tensor, expected: tuple[int, ...]) -> None:
        if tuple(x.shape[1:]) != tuple(expected):
            raise ConfigError(f"{type(self).__name__} expects inputs of shape (batch, "
                              f"{', '.join(map(str, expected))}), got {tuple(x.shape)}")


def make_norm(kind: str, channels: int) -> nn.Module:
    """A 2-D normalisation layer: ``batch``, ``instance`` (affine), ``group`` or ``none``."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "group":
        groups = next(g for g in (8, 4, 2, 1) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"norm must be one of {', '.join(NORMS)}, got {kind!r}")
