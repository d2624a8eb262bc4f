import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from neurodx.errors import ConfigError, RecordingError
from neurodx.io.dicom_writer import write_dicom_series
from neurodx.io.volume_checks import (VolumeSpec, check_volume, check_volume_consistency,
                                      check_volume_file)
from neurodx.io.volumes import describe_volume, read_volume, volume_format

PATIENT = {"PatientName": "Doe^Jane", "PatientID": "MRN12345678",
           "PatientBirthDate": "19700101", "PatientSex": "F"}


def _nifti(path, data, affine=None, tr=None):
    img = nib.Nifti1Image(data, np.diag([3.0, 3.0, 4.0, 1.0]) if affine is None else affine)
    if tr is not None:  # nibabel writes pixdim[4] = 1 unless told
        img.header.set_xyzt_units("mm", "sec")
        img.header.set_zooms(img.header.get_zooms()[:3] + (tr,))
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, path)
    return path


def _dicom(folder, n=4, seed=0, **kw):
    hu = np.random.default_rng(seed).integers(-1000, 1500, (10, 12, n))
    write_dicom_series(folder, hu, patient=PATIENT, **kw)
    return hu


def test_read_volume_dispatches_on_what_the_path_is(tmp_path):
    data = np.random.default_rng(0).normal(size=(6, 5, 4, 3)).astype(np.float32)
    assert read_volume(_nifti(tmp_path / "a.nii.gz", data)).shape == (6, 5, 4, 3)
    hu = _dicom(tmp_path / "series")
    np.testing.assert_array_equal(np.asarray(read_volume(tmp_path / "series").dataobj),
                                  hu.transpose(1, 0, 2))
    # A DICOM file without extension is recognised by its DICM marker.
    (tmp_path / "series" / "slice-001.dcm").rename(tmp_path / "IM0001")
    assert volume_format(tmp_path / "IM0001") == "dicom"
    assert read_volume(tmp_path / "IM0001").shape == (12, 10, 1)
    (tmp_path / "png").mkdir()
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "png" / "s1.png")
    assert volume_format(tmp_path / "png") == "images"
    assert read_volume(tmp_path / "png").shape == (5, 5, 1)


def test_unknown_and_mixed_inputs_refused_with_the_path(tmp_path):
    (tmp_path / "table.csv").write_text("a,b\n")
    with pytest.raises(RecordingError, match=r"table.csv: unknown volume format '.csv'"):
        read_volume(tmp_path / "table.csv")
    with pytest.raises(RecordingError, match=r"nowhere: not found"):
        read_volume(tmp_path / "nowhere")
    (tmp_path / "mix").mkdir()
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "mix" / "s1.png")
    (tmp_path / "mix" / "s2.dcm").write_bytes(b"x")
    with pytest.raises(RecordingError, match=r"mix: folder mixes 1 PNG/JPEG"):
        read_volume(tmp_path / "mix")
    (tmp_path / "nested" / "series1").mkdir(parents=True)
    with pytest.raises(RecordingError, match=r"nested: empty folder.*series1"):
        read_volume(tmp_path / "nested")
    _nifti(tmp_path / "niftis" / "a.nii", np.zeros((2, 2, 2), np.int16))
    with pytest.raises(RecordingError, match=r"niftis: folder holds NIfTI"):
        read_volume(tmp_path / "niftis")


def test_describe_nifti_4d_and_dicom_ct(tmp_path):
    data = np.zeros((6, 5, 4, 7), np.int16)
    data[1, 1, 1, 3] = 42
    data[0, 0, 0, 6] = -5
    flipped = np.diag([-3.0, 3.0, 4.0, 1.0])
    info = describe_volume(_nifti(tmp_path / "run.nii.gz", data, flipped, tr=2.0))
    assert info["format"] == "nifti" and info["shape"] == (6, 5, 4) and info["n_frames"] == 7
    assert info["zooms"] == (3.0, 3.0, 4.0) and info["tr"] == 2.0
    assert info["orientation"] == "LAS" and info["dtype"] == "int16"
    assert (info["min"], info["max"], info["n_nonfinite"]) == (-5.0, 42.0, 0)
    hu = _dicom(tmp_path / "ct", n=3, pixel_spacing=(0.5, 0.6), slice_thickness=5.0)
    info = describe_volume(tmp_path / "ct")
    assert info["format"] == "dicom" and info["modality"] == "CT" and info["units"] == "HU"
    assert info["shape"] == (12, 10, 3) and info["zooms"] == (0.6, 0.5, 5.0)
    assert info["orientation"] == "LPS" and info["canonical_shape"] == (12, 10, 3)
    assert (info["min"], info["max"]) == (hu.min(), hu.max())


def test_check_volume_bad_inputs_one_line_each(tmp_path):
    ok = _nifti(tmp_path / "ok.nii.gz", np.random.default_rng(0).normal(size=(4, 4, 3, 5))
                .astype(np.float32), tr=2.0)
    assert check_volume(ok, require_4d=True) == []
    three_d = _nifti(tmp_path / "t1.nii.gz", np.ones((4, 4, 3), np.float32) *
                     np.arange(3, dtype=np.float32))
    problems = check_volume(three_d, require_4d=True, source="sub-01 t1.nii.gz")
    assert [p.source for p in problems] == ["sub-01 t1.nii.gz"]
    assert "a 3-D volume (shape 4x4x3) where a 4-D time series" in problems[0].message
    nan = np.random.default_rng(1).normal(size=(4, 4, 3, 5)).astype(np.float32)
    nan[0, 0, 0, :2] = np.nan
    problems = check_volume(_nifti(tmp_path / "nan.nii", nan, tr=2.0))
    assert [p.message for p in problems] == ["2 NaN/Inf voxel value(s)"]
    problems = check_volume(_nifti(tmp_path / "zeros.nii", np.zeros((4, 4, 3), np.int16)))
    assert ["every voxel equals 0" in p.message for p in problems] == [True]
    problems = check_volume(ok, expected_shape=(4, 4, 4))
    assert problems[0].is_error and "shape 4x4x3 differs from the expected 4x4x4" in \
        problems[0].message
    problems = check_volume(ok, expected_shape=(4, 4, 4), shape_policy="resample")
    assert not problems[0].is_error and "resampled" in problems[0].message
    notimg = tmp_path / "fake.nii.gz"
    notimg.write_bytes(b"not gzip at all")
    assert "not a readable NIfTI" in check_volume(notimg)[0].message
    (tmp_path / "empty").mkdir()
    assert "empty folder" in check_volume(tmp_path / "empty")[0].message


def test_check_truncated_gzip_found_when_reading_voxels(tmp_path):
    path = _nifti(tmp_path / "cut.nii.gz", np.random.default_rng(0).normal(
        size=(16, 16, 8, 6)).astype(np.float32))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) * 2 // 3])
    problems = check_volume(path)
    assert len(problems) == 1 and "cannot read voxel data" in problems[0].message


def test_check_dicom_folder_problems_one_per_file(tmp_path):
    folder = tmp_path / "ct"
    _dicom(folder, n=6)
    (folder / "slice-004.dcm").unlink()
    (folder / "notes.txt").write_text("x")
    messages = [p.message for p in check_volume(folder, source="sub-07 ct")]
    assert len(messages) == 1 and messages[0].startswith("notes.txt: not a DICOM file")
    (folder / "notes.txt").unlink()
    messages = [p.message for p in check_volume(folder)]
    assert len(messages) == 1 and "missing slice" in messages[0]
    _dicom(tmp_path / "two", n=3, uid_seed="a", series_number=1, file_name="a{}.dcm")
    _dicom(tmp_path / "two", n=3, uid_seed="b", series_number=2, file_name="b{}.dcm")
    problems = check_volume(tmp_path / "two")
    assert "2 series mixed" in problems[0].message
    assert all("Doe" not in p.message for p in problems)
    assert check_volume(tmp_path / "two", series="2") == []


def test_cohort_shape_consistency(tmp_path):
    rows = [{"source": f"sub-0{i}", "canonical_shape": shape, "zooms": zooms}
            for i, (shape, zooms) in enumerate([((64, 64, 31), (3, 3, 4)),
                                                ((64, 64, 31), (3, 3, 4)),
                                                ((64, 64, 30), (3, 3, 4)),
                                                ((64, 64, 31), (2, 2, 2))])]
    problems, reference = check_volume_consistency(rows)
    assert reference == (64, 64, 31)
    errors = [p for p in problems if p.is_error]
    assert [p.source for p in errors] == ["sub-02"]
    assert "64x64x30 differs from the cohort's most common shape 64x64x31" in errors[0].message
    warnings_ = [p for p in problems if not p.is_error]
    assert [p.source for p in warnings_] == ["sub-03"]
    problems, _ = check_volume_consistency(rows, VolumeSpec(shape_policy="resample"))
    assert not any(p.is_error for p in problems)
    with pytest.raises(ConfigError):
        VolumeSpec(shape_policy="crop")


def test_check_volume_file_returns_description(tmp_path):
    path = _nifti(tmp_path / "run.nii", np.random.default_rng(0).normal(size=(4, 4, 3, 5))
                  .astype(np.float32), tr=0.0)
    info, problems = check_volume_file(path, VolumeSpec(require_4d=True), "sub-01 run.nii")
    assert info["n_frames"] == 5 and info["canonical_shape"] == (4, 4, 3)
    # TR 0 in the header: reported, but only as a warning.
    assert [(p.severity, p.source) for p in problems] == [("warning", "sub-01 run.nii")]
