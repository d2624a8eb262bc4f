"""Training-time augmentation of slice and window batches.

Each augmenter is a small callable ``aug(x, generator) -> x`` on a float batch
tensor. Every random number is drawn from the ``torch.Generator`` the training
engine passes (seeded per epoch), never from a global generator, so a run is
reproducible and a resumed run draws exactly what the interrupted one would have.
Draws happen on the CPU; the batch may live on any device.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import ConfigError

__all__ = ["SliceAugment", "WindowAugment", "make_augment"]


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


@dataclass
class SliceAugment:
    """Flips, small rotations and intensity jitter for ``(batch, channels, H, W)`` slices.

    Parameters
    ----------
    flip_prob : float
        Probability of mirroring a slice along ``flip_dim``.
    flip_dim : int
        Tensor dimension mirrored: ``2`` is the first in-plane axis, i.e. left-right
        for axial slices of a RAS-oriented volume (the slicing convention of the
        estimators: slice ``k`` of axis 2 is ``volume[:, :, k]``).
    max_rotation : float
        Rotations are drawn uniformly in ``[-max_rotation, max_rotation]`` degrees
        (bilinear resampling, border values repeated).
    intensity_scale : float
        Multiply each slice by ``1 + U(-s, s)``.
    intensity_shift : float
        Add ``U(-s, s)`` (in the units of the normalised slices) to each slice.
    noise_std : float
        Standard deviation of added Gaussian noise.
    """

    flip_prob: float = 0.5
    flip_dim: int = 2
    max_rotation: float = 10.0
    intensity_scale: float = 0.1
    intensity_shift: float = 0.1
    noise_std: float = 0.0

    def __post_init__(self):
        if not 0 <= self.flip_prob <= 1:
            raise ConfigError(f"flip_prob must be in [0, 1], got {self.flip_prob}")
        if self.flip_dim not in (2, 3):
            raise ConfigError(f"flip_dim must be 2 or 3 (an in-plane axis), got {self.flip_dim}")
        for name in ("max_rotation", "intensity_scale", "intensity_shift", "noise_std"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be non-negative, got {getattr(self, name)}")

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"SliceAugment expects (batch, channels, H, W), got {tuple(x.shape)}")
        n, device = x.shape[0], x.device
        # Draw everything first, in a fixed order, whatever is enabled.
        flip = torch.rand(n, generator=generator) < self.flip_prob
        angle = _uniform(n, -self.max_rotation, self.max_rotation, generator) * math.pi / 180
        scale = _uniform(n, 1 - self.intensity_scale, 1 + self.intensity_scale, generator)
        shift = _uniform(n, -self.intensity_shift, self.intensity_shift, generator)
        noise = (torch.randn(x.shape, generator=generator) * self.noise_std
                 if self.noise_std > 0 else None)
        if bool(flip.any()):
            x = torch.where(flip.to(device).view(-1, 1, 1, 1), x.flip(self.flip_dim), x)
        if self.max_rotation > 0:
            cos, sin = torch.cos(angle), torch.sin(angle)
            zero = torch.zeros_like(cos)
            theta = torch.stack([torch.stack([cos, -sin, zero], 1),
                                 torch.stack([sin, cos, zero], 1)], 1).to(device, x.dtype)
            grid = F.affine_grid(theta, list(x.shape), align_corners=False)
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border",
                              align_corners=False)
        x = x * scale.to(device, x.dtype).view(-1, 1, 1, 1) \
            + shift.to(device, x.dtype).view(-1, 1, 1, 1)
        if noise is not None:
            x = x + noise.to(device, x.dtype)
        return x


@dataclass
class WindowAugment:
    """Time shifts, channel dropout and amplitude jitter for ``(batch, channels, times)``.

    Parameters
    ----------
    max_shift : int
        Windows are shifted in time by ``U{-max_shift, ..., max_shift}`` samples.
        The shift is circular (samples leaving one end re-enter at the other),
        which keeps every window at its length; keep it small (a few % of a window).
    channel_dropout : float
        Probability of zeroing each channel of each window (as a lost electrode).
    amplitude_scale : float
        Multiply each window by ``1 + U(-s, s)``.
    noise_std : float
        Standard deviation of added Gaussian noise (units of the normalised signal).
    """

    max_shift: int = 0
    channel_dropout: float = 0.1
    amplitude_scale: float = 0.1
    noise_std: float = 0.0

    def __post_init__(self):
        if self.max_shift < 0:
            raise ConfigError(f"max_shift must be non-negative, got {self.max_shift}")
        if not 0 <= self.channel_dropout < 1:
            raise ConfigError(f"channel_dropout must be in [0, 1), got {self.channel_dropout}")
        if self.amplitude_scale < 0 or self.noise_std < 0:
            raise ConfigError("amplitude_scale and noise_std must be non-negative")

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if x.ndim != 3:
            raise ValueError(f"WindowAugment expects (batch, channels, times), got "
                             f"{tuple(x.shape)}")
        n, c, t = x.shape
        device = x.device
        shift = torch.randint(-self.max_shift, self.max_shift + 1, (n,), generator=generator)
        keep = torch.rand((n, c), generator=generator) >= self.channel_dropout
        scale = _uniform(n, 1 - self.amplitude_scale, 1 + self.amplitude_scale, generator)
        noise = (torch.randn(x.shape, generator=generator) * self.noise_std
                 if self.noise_std > 0 else None)
        if self.max_shift > 0:
            index = (torch.arange(t).view(1, t) - shift.view(n, 1)) % t
            x = torch.gather(x, 2, index.to(device).view(n, 1, t).expand(n, c, t))
        x = x * (keep.to(device, x.dtype) * scale.to(device, x.dtype).view(n, 1)).unsqueeze(2)
        if noise is not None:
            x = x + noise.to(device, x.dtype)
        return x


def make_augment(spec, kind: str):
    """An augmenter from an estimator parameter: ``None``/``False`` (none), ``True``
    (defaults), a dict of keyword arguments, or a callable ``(x, generator) -> x``."""
    cls = SliceAugment if kind == "slice" else WindowAugment
    if spec is None or spec is False:
        return None
    if spec is True:
        return cls()
    if isinstance(spec, dict):
        try:
            return cls(**spec)
        except TypeError as err:
            raise ConfigError(f"augment: {err}") from None
    if callable(spec):
        return spec
    raise ConfigError(f"augment must be None, a bool, a dict of {cls.__name__} options or a "
                      f"callable, got {type(spec).__name__}")
