import nibabel as nib
import numpy as np
import pytest

from neurodx.errors import ConfigError
from neurodx.preprocessing.geometry import (orientation_codes, reorient_array, resample,
                                            resize_slice, to_canonical)


def _world(affine, ijk):
    return (affine @ np.append(ijk, 1.0))[:3]


def test_known_flip_undone_by_canonicalisation(tmp_path):
    data = np.arange(4 * 5 * 3, dtype=np.float32).reshape(4, 5, 3)
    # Stored left-to-right flipped and with y/z swapped: "LSA" order.
    affine = np.array([[-2.0, 0, 0, 10], [0, 0, 3, -5], [0, 4, 0, 1], [0, 0, 0, 1]])
    img = nib.Nifti1Image(data, affine)
    assert orientation_codes(img) == "LSA"
    canon = to_canonical(img)
    assert orientation_codes(canon) == "RAS"
    assert canon.shape == (4, 3, 5)
    out = np.asarray(canon.dataobj)
    # Every voxel keeps its value at the same world position.
    for ijk in [(0, 0, 0), (3, 2, 4), (1, 2, 3)]:
        src = np.round(np.linalg.solve(affine, np.append(_world(canon.affine, ijk), 1))[:3])
        assert out[ijk] == data[tuple(src.astype(int))]
    np.testing.assert_array_equal(out[:, 0, 0], data[::-1, 0, 0])  # the x flip is undone


def test_reorient_array_on_frame_blocks_matches_whole_image():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(4, 5, 3, 6)).astype(np.float32)
    affine = np.diag([-2.0, 2.0, -3.0, 1.0])
    whole = np.asarray(to_canonical(nib.Nifti1Image(data, affine)).dataobj)
    block, new_affine = reorient_array(data[..., 2:4], affine)
    np.testing.assert_array_equal(block, whole[..., 2:4])
    assert orientation_codes(new_affine) == "RAS"
    same, aff = reorient_array(data, np.eye(4))
    assert same is data and aff is not None  # already canonical: no copy


def test_resample_to_shape_and_spacing_keeps_field_of_view():
    data = np.zeros((10, 8, 6), np.float32)
    data[4:6, 3:5, 2:4] = 1.0
    affine = np.diag([2.0, 2.0, 3.0, 1.0])
    affine[:3, 3] = [-9, -7, -7.5]
    img = nib.Nifti1Image(data, affine)
    out = resample(img, shape=(20, 16, 12))
    assert out.shape == (20, 16, 12)
    np.testing.assert_allclose(np.diag(out.affine)[:3], [1.0, 1.0, 1.5])
    # Both grids cover the same box: the outer voxel edges coincide.
    for im in (img, out):
        corner = _world(im.affine, [-0.5, -0.5, -0.5])
        np.testing.assert_allclose(corner, [-10, -8, -9])
    # The bright block's centre of mass stays at the same world position.
    def com(im):
        d = np.asarray(im.dataobj)
        idx = np.array(np.nonzero(d > 0.25)).mean(axis=1)
        return _world(im.affine, idx)
    np.testing.assert_allclose(com(out), com(img), atol=0.3)
    assert resample(img, spacing=4.0).shape == (5, 4, 4)  # 20 x 16 x 18 mm / 4 mm


def test_resample_4d_frames_and_nearest_for_labels():
    data = np.stack([np.full((4, 4, 2), t, np.int16) for t in range(3)], axis=-1)
    img = nib.Nifti1Image(data, np.eye(4))
    out = resample(img, shape=(8, 8, 4), order=0)
    assert out.shape == (8, 8, 4, 3)
    assert np.asarray(out.dataobj).dtype == np.int16
    assert set(np.unique(np.asarray(out.dataobj)[..., 2])) == {2}
    with pytest.raises(ConfigError, match="exactly one"):
        resample(img)


def test_resize_slice_shape_and_channels():
    arr = np.arange(16, dtype=np.float32).reshape(4, 4)
    assert resize_slice(arr, (8, 6)).shape == (8, 6)
    assert resize_slice(np.stack([arr, arr]), (2, 2)).shape == (2, 2, 2)
    assert resize_slice(arr, (4, 4)) is arr


def test_fit_slice_keeps_the_aspect_centres_and_pads():
    from neurodx.preprocessing.geometry import fit_slice

    wide = np.ones((10, 20), np.float32)                  # 10 rows, 20 columns
    out = fit_slice(wide, (16, 16))
    assert out.shape == (16, 16) and out.dtype == np.float32
    rows = np.flatnonzero(out.max(axis=1) > 0.5)
    assert len(rows) == 8 and rows[0] == 4                 # 10x20 -> 8x16, centred
    assert np.all(out[:3] == 0) and np.all(out[-3:] == 0)  # padding
    stack = fit_slice(np.stack([wide, 2 * wide]), (16, 16))
    assert stack.shape == (2, 16, 16) and stack[1].max() == pytest.approx(2.0)
    assert fit_slice(np.ones((8, 8)), (8, 8)).shape == (8, 8)


def test_fit_slice_makes_two_resolutions_of_one_scene_alike():
    from neurodx.preprocessing.geometry import fit_slice

    def scene(n):  # the same disc with a fine texture, drawn at n x n pixels
        y, x = (np.mgrid[:n, :n] + 0.5) / n
        return ((x - 0.5) ** 2 + (y - 0.4) ** 2 < 0.09).astype(np.float32) * \
            (1 + 0.2 * np.sin(60 * x))

    small, large = fit_slice(scene(200), (64, 64)), fit_slice(scene(300), (64, 64))
    assert np.abs(small - large).mean() < 0.02
