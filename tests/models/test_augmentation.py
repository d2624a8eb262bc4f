import pytest
import torch

from neurodx.errors import ConfigError
from neurodx.models import SliceAugment, WindowAugment
from neurodx.models.augmentation import make_augment


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_slice_augment_is_reproducible_with_its_generator():
    x = torch.randn(8, 2, 16, 16)
    aug = SliceAugment(noise_std=0.1)
    assert torch.equal(aug(x, gen(1)), aug(x, gen(1)))
    assert not torch.equal(aug(x, gen(1)), aug(x, gen(2)))


def test_flip_only_mirrors_the_first_in_plane_axis():
    x = torch.arange(2 * 1 * 3 * 4, dtype=torch.float32).view(2, 1, 3, 4)
    aug = SliceAugment(flip_prob=1.0, max_rotation=0.0, intensity_scale=0.0, intensity_shift=0.0)
    assert torch.equal(aug(x, gen()), x.flip(2))
    none = SliceAugment(flip_prob=0.0, max_rotation=0.0, intensity_scale=0.0, intensity_shift=0.0)
    assert torch.allclose(none(x, gen()), x)


def test_rotation_is_small_and_intensity_jitter_bounded():
    x = torch.zeros(64, 1, 21, 21)
    x[:, :, 10, :] = 1.0                       # a horizontal line through the centre
    aug = SliceAugment(flip_prob=0.0, max_rotation=10.0, intensity_scale=0.0,
                       intensity_shift=0.0)
    out = aug(x, gen())
    assert torch.allclose(out[:, :, 10, 10], torch.ones(64, 1), atol=1e-4)   # centre stays
    assert not torch.allclose(out, x, atol=1e-3)                              # lines tilt
    assert (out.sum(dim=(1, 2, 3)) - 21).abs().max() < 2.5                    # mass ~ kept
    jitter = SliceAugment(flip_prob=0.0, max_rotation=0.0, intensity_scale=0.1,
                          intensity_shift=0.2)
    y = jitter(torch.ones(100, 1, 4, 4), gen())
    assert y.min() >= 0.9 - 0.2 - 1e-6 and y.max() <= 1.1 + 0.2 + 1e-6 and y.std() > 0.01


def test_window_shift_is_circular_and_channel_dropout_zeroes_channels():
    x = torch.arange(10, dtype=torch.float32).repeat(50, 3, 1)
    shifted = WindowAugment(max_shift=3, channel_dropout=0.0, amplitude_scale=0.0)(x, gen())
    for row in shifted:
        assert sorted(row[0].tolist()) == list(range(10))          # a permutation: circular
        assert torch.equal(row[0], row[1])                          # same shift on all channels
    assert len({int(r[0, 0]) for r in shifted}) > 1
    dropped = WindowAugment(max_shift=0, channel_dropout=0.5, amplitude_scale=0.0)(
        torch.ones(200, 4, 8), gen())
    zero = (dropped.abs().sum(2) == 0)
    assert 0.3 < zero.float().mean() < 0.7
    assert torch.all((dropped == 0) | (dropped == 1))


def test_make_augment_and_validation():
    assert make_augment(None, "slice") is None and make_augment(False, "window") is None
    assert isinstance(make_augment(True, "slice"), SliceAugment)
    assert make_augment({"max_shift": 4}, "window").max_shift == 4
    with pytest.raises(ConfigError, match="unexpected keyword"):
        make_augment({"max_shfit": 4}, "window")
    with pytest.raises(ConfigError):
        SliceAugment(flip_prob=2.0)
    with pytest.raises(ConfigError):
        WindowAugment(channel_dropout=1.0)
