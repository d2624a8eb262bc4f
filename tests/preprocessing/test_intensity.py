import nibabel as nib
import numpy as np
import pytest

from neurodx.errors import ConfigError, RecordingError
from neurodx.preprocessing.intensity import (CT_WINDOWS, CTWindows, foreground_mask, load_mask,
                                             otsu_threshold, to_uint8, voxel_stats, window,
                                             window_stack, zscore_frames, zscore_voxels)


def test_window_presets_map_level_and_width():
    assert CT_WINDOWS == {"brain": (40.0, 80.0), "subdural": (75.0, 215.0),
                          "stroke": (40.0, 40.0), "bone": (600.0, 2800.0)}
    hu = np.array([-1000, 0, 40, 80, 1000])
    np.testing.assert_allclose(window(hu, 40, 80), [0, 0, 0.5, 1, 1])
    np.testing.assert_allclose(window(hu, 600, 2800), [0, 800 / 2800, 840 / 2800, 880 / 2800,
                                                       1800 / 2800], rtol=1e-6)
    np.testing.assert_array_equal(to_uint8(np.array([0, 40, 80]), 40, 80), [0, 128, 255])


def test_window_stack_channels_in_order():
    hu = np.random.default_rng(0).uniform(-1000, 2000, (7, 9))
    stack = window_stack(hu, ("brain", "bone", (50, 10)))
    assert stack.shape == (3, 7, 9) and stack.dtype == np.float32
    np.testing.assert_allclose(stack[1], window(hu, 600, 2800))
    np.testing.assert_allclose(stack[2], window(hu, 50, 10))
    out = CTWindows(("stroke", "subdural"))(hu)
    np.testing.assert_allclose(out[0], window(hu, 40, 40))
    with pytest.raises(ConfigError, match="unknown CT window 'lung'"):
        CTWindows(("lung",))


def test_zscore_voxels_and_frames():
    rng = np.random.default_rng(1)
    data = rng.normal(100, 5, (3, 4, 2, 50)).astype(np.float32)
    data[0, 0, 0] = 7.0  # a constant voxel
    z = zscore_voxels(data)
    np.testing.assert_allclose(z[1:].mean(axis=-1), 0, atol=1e-4)
    np.testing.assert_allclose(z[1:].std(axis=-1), 1, atol=1e-4)
    assert np.all(z[0, 0, 0] == 0) and np.isfinite(z).all()
    mask = np.zeros((3, 4, 2), bool)
    mask[1:, 1:] = True
    zf = zscore_frames(data, mask)
    inside = zf[mask]
    np.testing.assert_allclose(inside.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(inside.std(axis=0), 1, atol=1e-4)
    assert np.all(zf[~mask] == 0)
    np.testing.assert_allclose(zscore_frames(data[..., 3]), zscore_frames(data)[..., 3], atol=1e-5)


def test_streamed_voxel_stats_equal_direct_ones():
    data = np.random.default_rng(2).normal(1000, 3, (4, 3, 2, 37))
    mean, std = voxel_stats(data[..., s:s + 8] for s in range(0, 37, 8))
    np.testing.assert_allclose(mean, data.mean(axis=-1), rtol=1e-6)
    np.testing.assert_allclose(std, data.std(axis=-1), rtol=1e-4)


def test_otsu_and_foreground_mask_on_a_head_like_volume():
    rng = np.random.default_rng(3)
    vol = rng.normal(-1000, 5, (30, 30, 4))           # air
    yy, xx = np.mgrid[:30, :30]
    head = (xx - 15) ** 2 / 100 + (yy - 15) ** 2 / 144 < 1
    vol[head] = rng.normal(35, 5, (head.sum(), 4))    # tissue
    vol[15, 15] = 5                                   # "ventricle" inside the head
    thr = otsu_threshold(vol)
    assert -990 < thr < 20
    mask = foreground_mask(vol)
    assert np.array_equal(mask[..., 0], head)         # hole filled, no air
    assert foreground_mask(vol, threshold=100).sum() == 0


def test_load_mask_reoriented_and_grid_checked(tmp_path):
    affine = np.diag([2.0, 2.0, 3.0, 1.0])
    mask = np.zeros((4, 5, 3), np.uint8)
    mask[0, 1, 2] = 1
    # The same mask stored left-right flipped (another orientation, same grid).
    flip = affine.copy()
    flip[0, 0] = -2.0
    flip[0, 3] = 6.0
    nib.save(nib.Nifti1Image(mask[::-1], flip), tmp_path / "m.nii.gz")
    loaded = load_mask(tmp_path / "m.nii.gz", (4, 5, 3), affine)
    np.testing.assert_array_equal(loaded, mask.astype(bool))
    with pytest.raises(RecordingError, match=r"m.nii.gz: mask grid .* does not match"):
        load_mask(tmp_path / "m.nii.gz", (4, 5, 4), affine)


def test_display_path_scales_grey_levels_and_keeps_the_channel_count():
    from neurodx.preprocessing.intensity import CTIntensity, GreyChannels, display_fraction

    grey = np.array([[0, 51], [204, 255]], dtype=np.uint8)
    frac = display_fraction(grey, 255.0)
    np.testing.assert_allclose(frac, [[0, 0.2], [0.8, 1.0]], rtol=1e-6)
    np.testing.assert_allclose(display_fraction(np.array([0, 65535]), 65535.0), [0, 1])
    np.testing.assert_allclose(display_fraction(np.array([0, 1000])), [0, 1000 / 65535])
    with pytest.raises(RecordingError, match="display grey levels are never negative"):
        display_fraction(np.array([-1000.0, 40.0]), source="x")
    out = GreyChannels(3)(frac)
    assert out.shape == (3, 2, 2) and all(np.array_equal(c, frac) for c in out)
    ct = CTIntensity(("brain", "subdural", "bone"))
    assert isinstance(ct.for_unit("HU"), CTWindows)
    # grey levels are not windowed again: every level above 80 would saturate the brain window
    display = ct.for_unit("display")(frac)
    assert display.shape == (3, 2, 2) and np.unique(display[0]).size == 4
    with pytest.raises(RecordingError, match="^sub-1: values of unknown unit: .* set "
                                             "volume.intensity: hu"):
        ct.for_unit("unknown", source="sub-1")
    with pytest.raises(ConfigError, match="unknown CT window"):
        CTIntensity(("lung",))
