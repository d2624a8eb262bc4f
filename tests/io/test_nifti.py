import nibabel as nib
import numpy as np
import pytest

from neurodx.errors import RecordingError
from neurodx.io.nifti import read_nifti


def _save(path, data, affine=None):
    img = nib.Nifti1Image(data, np.diag([2.0, 2.0, 3.0, 1.0]) if affine is None else affine)
    nib.save(img, path)
    return path


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_round_trip_4d_stays_on_disk(tmp_path, suffix):
    data = np.arange(5 * 4 * 3 * 6, dtype=np.int16).reshape(5, 4, 3, 6)
    path = _save(tmp_path / f"run{suffix}", data)
    img = read_nifti(path)
    assert img.shape == (5, 4, 3, 6)
    assert nib.is_proxy(img.dataobj) and not img.in_memory  # lazy: nothing read yet
    np.testing.assert_array_equal(img.dataobj[..., 4], data[..., 4])
    np.testing.assert_allclose(img.affine, np.diag([2.0, 2.0, 3.0, 1.0]))


def test_scaling_applied_on_read(tmp_path):
    img = nib.Nifti1Image(np.full((3, 3, 3), 10, np.int16), np.eye(4))
    img.header.set_slope_inter(0.5, -3.0)
    nib.save(img, tmp_path / "s.nii")
    assert np.asarray(read_nifti(tmp_path / "s.nii").dataobj)[0, 0, 0] == pytest.approx(2.0)


def test_2d_becomes_one_slice_volume(tmp_path):
    path = _save(tmp_path / "flat.nii.gz", np.ones((6, 5), np.float32), np.eye(4))
    img = read_nifti(path)
    assert img.shape == (6, 5, 1)


def test_trailing_singleton_dims_squeezed_lazily(tmp_path):
    path = _save(tmp_path / "five.nii", np.zeros((4, 4, 3, 2, 1), np.int16), np.eye(4))
    img = read_nifti(path)
    assert img.shape == (4, 4, 3, 2)
    assert nib.is_proxy(img.dataobj)


def test_five_d_refused(tmp_path):
    path = _save(tmp_path / "five.nii", np.zeros((4, 4, 3, 2, 2), np.int16), np.eye(4))
    with pytest.raises(RecordingError, match=r"five.nii: 5-D"):
        read_nifti(path)


def test_truncated_uncompressed_file_named(tmp_path):
    path = _save(tmp_path / "cut.nii", np.ones((10, 10, 10, 4), np.float32))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(RecordingError, match=r"cut.nii: truncated NIfTI"):
        read_nifti(path)


def test_non_nifti_content_and_missing_file(tmp_path):
    bad = tmp_path / "notes.nii"
    bad.write_text("this is not an image")
    with pytest.raises(RecordingError, match=r"notes.nii: not a readable NIfTI"):
        read_nifti(bad)
    with pytest.raises(RecordingError, match=r"absent.nii.gz: file not found"):
        read_nifti(tmp_path / "absent.nii.gz")
