"""Tiny SYNTHETIC data sets for the CNN tests: trivially separable slices and windows."""
from __future__ import annotations

import numpy as np
import pytest

from neurodx.models import ArrayItems, TrainConfig

FAST = dict(batch_size=16, lr=5e-3, weight_decay=0.0, val_fraction=0.0, patience=None,
            progress=False, num_threads=1)


def _slices(n_subjects=8, per_subject=6, size=12, channels=1, n_positions=3, seed=0,
            position_dependent=False):
    """Class 1 slices carry a bright square; with ``position_dependent`` its place depends on
    the slice position (so a network must know the position... or learn all places)."""
    rng = np.random.default_rng(seed)
    labels, groups, positions, data = [], [], [], []
    for s in range(n_subjects):
        label = s % 2
        for k in range(per_subject):
            pos = k % n_positions
            img = 0.3 * rng.standard_normal((channels, size, size))
            if label:
                r0 = 2 + (pos * 3 if position_dependent else 0)
                img[:, r0:r0 + 3, 2:5] += 2.0
            data.append(img)
            labels.append(label)
            groups.append(f"sub-{s:02d}")
            positions.append(pos)
    return ArrayItems(np.asarray(data, dtype=np.float32), np.array(labels), np.array(groups),
                      np.array(positions))


def _windows(n_subjects=8, per_subject=6, n_channels=4, n_samples=64, seed=0):
    """Class 1 windows carry a strong 8-cycle sinusoid on half of the channels."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / n_samples
    labels, groups, data = [], [], []
    for s in range(n_subjects):
        label = s % 2
        for _ in range(per_subject):
            x = rng.standard_normal((n_channels, n_samples))
            if label:
                x[: n_channels // 2] += 3 * np.sin(2 * np.pi * 8 * t + rng.uniform(0, 6.3))
            data.append(x)
            labels.append(label)
            groups.append(f"sub-{s:02d}")
    return ArrayItems(np.asarray(data, dtype=np.float32), np.array(labels), np.array(groups))


@pytest.fixture
def slice_items():
    return _slices


@pytest.fixture
def window_items():
    return _windows


@pytest.fixture
def fast_config():
    def make(**overrides):
        return TrainConfig(**{**FAST, **overrides})
    return make


def separable_volume(label: int, rng, shape=(12, 12, 4), frames=None) -> np.ndarray:
    """A SYNTHETIC volume; class 1 has a bright block in every slice (and frame)."""
    full = shape + ((frames,) if frames else ())
    vol = rng.standard_normal(full).astype(np.float32)
    if label:
        vol[2:6, 3:7] += 3.0
    return vol


@pytest.fixture
def volume():
    return separable_volume
