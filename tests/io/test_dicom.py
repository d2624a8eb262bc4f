import shutil
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGLosslessSV1, RLELossless, generate_uid

from neurodx.errors import RecordingError
from neurodx.io.dicom import dicom_problems, list_dicom_series, read_dicom_series
from neurodx.io.dicom_writer import write_dicom_series

PATIENT = {"PatientName": "Doe^Jane", "PatientID": "MRN12345678",
           "PatientBirthDate": "19700101", "PatientSex": "F"}
FLIP = np.array([-1.0, -1.0, 1.0])  # LPS -> RAS


def _hu(shape=(12, 10, 5), seed=0):
    return np.random.default_rng(seed).integers(-1000, 2000, shape)


def _series(folder, hu=None, **kw):
    hu = _hu() if hu is None else hu
    kw.setdefault("patient", PATIENT)
    return hu, write_dicom_series(folder, hu, **kw)


def test_round_trip_values_are_hounsfield_units(tmp_path):
    hu, paths = _series(tmp_path / "s")
    raw = pydicom.dcmread(paths[0]).pixel_array
    np.testing.assert_array_equal(raw, hu[:, :, 0] + 1024)   # stored with intercept -1024
    img = read_dicom_series(tmp_path / "s")
    assert img.get_data_dtype() == np.int16
    np.testing.assert_array_equal(np.asarray(img.dataobj), hu.transpose(1, 0, 2))


def test_non_integer_rescale_gives_float(tmp_path):
    hu = _hu() // 2 * 2  # even values: exact with slope 2
    _series(tmp_path / "s", hu, rescale_slope=2.0, rescale_intercept=-1000.5)
    img = read_dicom_series(tmp_path / "s")
    assert img.get_data_dtype() == np.float32
    np.testing.assert_allclose(np.asarray(img.dataobj), hu.transpose(1, 0, 2) - 0.5, atol=1e-3)


def test_affine_maps_voxels_to_patient_positions(tmp_path):
    # Oblique orientation: row cosines rotated in the axial plane, columns down -z.
    c, s = np.cos(0.3), np.sin(0.3)
    iop = np.array([c, s, 0.0, 0.0, 0.0, -1.0])
    hu, paths = _series(tmp_path / "s", pixel_spacing=(0.7, 0.9), slice_thickness=2.5,
                        orientation=iop)
    img = read_dicom_series(tmp_path / "s")
    for k, p in enumerate(paths):
        ipp = np.array([float(v) for v in pydicom.dcmread(p).ImagePositionPatient])
        for i, j in [(0, 0), (3, 0), (0, 4), (9, 11)]:
            expected = FLIP * (ipp + i * 0.9 * iop[:3] + j * 0.7 * iop[3:])
            np.testing.assert_allclose(img.affine @ [i, j, k, 1], [*expected, 1], atol=1e-4)


def test_in_plane_geometry_agrees_with_nibabel_nicom(tmp_path):
    _, paths = _series(tmp_path / "s", pixel_spacing=(0.7, 0.9),
                       orientation=(0.96, 0.28, 0, -0.28, 0.96, 0))
    with warnings.catch_warnings():  # nicom warns it is experimental on import
        warnings.simplefilter("ignore")
        from nibabel.nicom import dicomwrappers
    ours = read_dicom_series(paths[0])  # a single file is a one-slice volume
    wrapper = dicomwrappers.wrapper_from_file(str(paths[0]))
    # nicom keeps (row, column) order in LPS; we use (column, row) in RAS.
    np.testing.assert_allclose(ours.affine[:3, 0], FLIP * wrapper.affine[:3, 1], atol=1e-4)
    np.testing.assert_allclose(ours.affine[:3, 1], FLIP * wrapper.affine[:3, 0], atol=1e-4)
    np.testing.assert_allclose(ours.affine[:3, 3], FLIP * wrapper.affine[:3, 3], atol=1e-4)
    np.testing.assert_array_equal(np.asarray(ours.dataobj)[:, :, 0], wrapper.get_data().T)


def test_shuffled_file_names_sorted_by_position(tmp_path):
    hu, paths = _series(tmp_path / "s", hu=_hu((8, 8, 6)))
    # Names now say nothing about order: reverse and scramble them.
    order = [3, 0, 5, 1, 4, 2]
    for p, new in zip(paths, order):
        p.rename(p.with_name(f"x{new}.tmp"))
    for p in (tmp_path / "s").iterdir():
        p.rename(p.with_name(p.stem.replace("x", "IM") + ""))
    img = read_dicom_series(tmp_path / "s")
    np.testing.assert_array_equal(np.asarray(img.dataobj), hu.transpose(1, 0, 2))
    assert img.affine[2, 2] > 0  # slices run superior


def test_instance_number_fallback_without_positions(tmp_path):
    hu, paths = _series(tmp_path / "s", hu=_hu((8, 8, 4)), slice_thickness=3.0)
    for p in paths:
        ds = pydicom.dcmread(p)
        del ds.ImagePositionPatient
        ds.save_as(p)
    # Shuffle names so only InstanceNumber can order them.
    for p, new in zip(paths, ["d", "b", "c", "a"]):
        p.rename(p.with_name(new))
    img = read_dicom_series(tmp_path / "s")
    np.testing.assert_array_equal(np.asarray(img.dataobj), hu.transpose(1, 0, 2))
    assert img.affine[2, 2] == pytest.approx(3.0)


def test_missing_slice_detected_from_position_gap(tmp_path):
    _, paths = _series(tmp_path / "s", hu=_hu((8, 8, 6)))
    paths[3].unlink()
    with pytest.raises(RecordingError, match=r"missing slice\(s\).*slice-003.dcm and "
                                             r"slice-005.dcm.*about 1 slice"):
        read_dicom_series(tmp_path / "s")
    errors, _ = dicom_problems(tmp_path / "s")
    assert len(errors) == 1 and "missing slice" in errors[0]


def test_duplicated_slice_detected(tmp_path):
    _, paths = _series(tmp_path / "s", hu=_hu((8, 8, 4)))
    ds = pydicom.dcmread(paths[1])
    ds.SOPInstanceUID = generate_uid(entropy_srcs=["copy"])
    ds.InstanceNumber = 99
    ds.save_as(tmp_path / "s" / "copy.dcm")
    with pytest.raises(RecordingError, match=r"same position"):
        read_dicom_series(tmp_path / "s")


def test_mixed_series_listed_refused_then_selected(tmp_path):
    folder = tmp_path / "mixed"
    hu_a, _ = _series(folder, hu=_hu((8, 8, 4), 1), series_number=2, uid_seed="a",
                      file_name="a{:02d}.dcm")
    hu_b, _ = _series(folder, hu=_hu((8, 8, 6), 2), series_number=3, uid_seed="b",
                      file_name="b{:02d}.dcm")
    with pytest.raises(RecordingError) as err:
        read_dicom_series(folder)
    message = str(err.value)
    assert message.startswith(str(folder)) and "2 series mixed" in message
    assert "series 2 (CT, 4 images" in message and "series 3 (CT, 6 images" in message
    assert "Doe" not in message and "19700101" not in message  # no identity in messages
    series = list_dicom_series(folder)
    assert [s.number for s in series] == [2, 3]
    np.testing.assert_array_equal(np.asarray(read_dicom_series(folder, series=2).dataobj),
                                  hu_a.transpose(1, 0, 2))
    np.testing.assert_array_equal(np.asarray(read_dicom_series(folder, series=series[1].uid)
                                             .dataobj), hu_b.transpose(1, 0, 2))
    assert read_dicom_series(folder, series="largest").shape == (8, 8, 6)
    with pytest.raises(RecordingError, match="series '7' not found"):
        read_dicom_series(folder, series="7")


def test_non_dicom_file_and_empty_folder_named(tmp_path):
    _series(tmp_path / "s", hu=_hu((8, 8, 3)))
    (tmp_path / "s" / "notes.txt").write_text("scanner export notes")
    with pytest.raises(RecordingError, match=r"notes.txt: not a DICOM file"):
        read_dicom_series(tmp_path / "s")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecordingError, match=r"empty: empty folder"):
        read_dicom_series(tmp_path / "empty")


def test_hidden_files_ignored_and_dicomdir_like_files_reported(tmp_path):
    hu, paths = _series(tmp_path / "s", hu=_hu((8, 8, 3)))
    (tmp_path / "s" / ".DS_Store").write_bytes(b"\x00\x01")
    ds = pydicom.dcmread(paths[0])
    for keyword in ("Rows", "Columns", "PixelData"):
        delattr(ds, keyword)
    ds.save_as(tmp_path / "s" / "report.dcm")
    img = read_dicom_series(tmp_path / "s")
    np.testing.assert_array_equal(np.asarray(img.dataobj), hu.transpose(1, 0, 2))
    errors, notes = dicom_problems(tmp_path / "s")
    assert not errors and any("report.dcm" in n and "without an image" in n for n in notes)


def test_rle_compressed_series_decoded(tmp_path):
    hu, _ = _series(tmp_path / "s", hu=_hu((8, 8, 3)), transfer_syntax=RLELossless)
    assert pydicom.dcmread(next((tmp_path / "s").iterdir())).file_meta.TransferSyntaxUID == \
        RLELossless
    np.testing.assert_array_equal(np.asarray(read_dicom_series(tmp_path / "s").dataobj),
                                  hu.transpose(1, 0, 2))


def test_compressed_without_decoder_clearly_refused(tmp_path):
    _, paths = _series(tmp_path / "s", hu=_hu((8, 8, 2)))
    ds = pydicom.dcmread(paths[1])
    ds.file_meta.TransferSyntaxUID = JPEGLosslessSV1
    ds.PixelData = encapsulate([b"\xff\xd8\xff\xc3" + b"\x00" * 60])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.save_as(paths[1])
    with pytest.raises(RecordingError) as err:
        read_dicom_series(tmp_path / "s")
    message = str(err.value)
    assert "slice-002.dcm" in message
    if not pydicom.pixels.get_decoder(JPEGLosslessSV1).is_available:
        assert "no installed decoder" in message and "JPEG Lossless" in message


def test_inconsistent_geometry_refused(tmp_path):
    _, paths = _series(tmp_path / "s", hu=_hu((8, 8, 3)))
    ds = pydicom.dcmread(paths[2])
    ds.PixelSpacing = ["0.5", "0.5"]
    ds.save_as(paths[2])
    with pytest.raises(RecordingError, match=r"slice-003.dcm: PixelSpacing differs"):
        read_dicom_series(tmp_path / "s")


def test_unordered_series_refused(tmp_path):
    _, paths = _series(tmp_path / "s", hu=_hu((8, 8, 2)))
    for p in paths:
        ds = pydicom.dcmread(p)
        del ds.ImagePositionPatient
        del ds.InstanceNumber
        ds.save_as(p)
    with pytest.raises(RecordingError, match="cannot order slices"):
        read_dicom_series(tmp_path / "s")


def test_multiple_problems_all_reported_by_dicom_problems(tmp_path):
    _series(tmp_path / "s", hu=_hu((8, 8, 3)))
    shutil.copy(tmp_path / "s" / "slice-001.dcm", tmp_path / "s" / "zz-broken.dcm")
    with open(tmp_path / "s" / "zz-broken.dcm", "r+b") as fh:
        fh.truncate(100)
    (tmp_path / "s" / "readme.txt").write_text("x")
    errors, _ = dicom_problems(tmp_path / "s")
    assert len(errors) == 2
    assert any(e.startswith("zz-broken.dcm") for e in errors)
    assert any(e.startswith("readme.txt") for e in errors)
