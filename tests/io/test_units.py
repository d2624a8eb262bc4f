"""Every volume carries its intensity unit: readers label it, the config key resolves it."""
import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from neurodx.errors import ConfigError, RecordingError
from neurodx.io import read_volume, volume_unit
from neurodx.io.units import (check_intensity_setting, display_full_scale, resolve_unit)
from neurodx.simulate import simulate_ct_cohort


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "LA"])
def test_8_bit_images_of_any_colour_mode_are_display_with_full_scale_255(tmp_path, mode):
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    img = Image.fromarray(grey).convert(mode)
    path = tmp_path / f"x.{'png' if mode != 'RGB' else 'jpg'}"
    img.save(path)
    vol = read_volume(path)
    assert volume_unit(vol) == "display" and display_full_scale(vol) == 255.0
    assert vol.get_data_dtype() == np.uint8


def test_16_bit_png_is_display_with_full_scale_65535(tmp_path):
    Image.fromarray(np.full((6, 5), 40000, np.uint16)).save(tmp_path / "deep.png")
    vol = read_volume(tmp_path / "deep.png")
    assert volume_unit(vol) == "display" and display_full_scale(vol) == 65535.0


def test_slices_of_one_patient_must_share_a_bit_depth(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(folder / "a1.png")
    Image.fromarray(np.full((4, 4), 300, np.uint16)).save(folder / "a2.png")
    with pytest.raises(RecordingError, match=r"a2.png: 16-bit image, a1.png is 8-bit"):
        read_volume(folder)


def test_dicom_ct_is_hu_and_nifti_is_unknown(tmp_path):
    dicom = simulate_ct_cohort(tmp_path / "d", ("normal",), 1, fmt="dicom", shape=(16, 16, 2))
    nifti = simulate_ct_cohort(tmp_path / "n", ("normal",), 1, fmt="nifti", shape=(16, 16, 2))
    assert volume_unit(read_volume(next(dicom.rglob("dicom")))) == "HU"
    assert volume_unit(read_volume(next(nifti.rglob("*.nii.gz")))) == "unknown"
    assert volume_unit(nib.Nifti1Image(np.zeros((2, 2, 2)), np.eye(4))) == "unknown"


@pytest.mark.parametrize("found, setting, lowest, expected", [
    ("HU", "auto", None, "HU"), ("display", "auto", None, "display"),
    ("unknown", "auto", None, "unknown"),          # nothing asks for a unit: left unknown
    ("unknown", "auto", -1024.0, "HU"),            # air: only CT in HU goes this low
    ("unknown", "auto", 0.0, "unknown"),
    ("unknown", "hu", 0.0, "HU"), ("unknown", "display", -5.0, "display"),
    ("HU", "hu", None, "HU"), ("display", "display", None, "display")])
def test_resolve_unit(found, setting, lowest, expected):
    assert resolve_unit(found, setting, min_value=lowest) == expected


def test_a_setting_contradicting_the_file_is_refused_in_one_line():
    with pytest.raises(ConfigError, match=r"^x.png: holds display grey levels \(PNG/JPEG\), but "
                                          r"volume.intensity is 'hu'.*set volume.intensity: "
                                          r"auto$"):
        resolve_unit("display", "hu", source="x.png")
    with pytest.raises(ConfigError, match="is DICOM CT in Hounsfield units, but "
                                          "volume.intensity is 'display'"):
        resolve_unit("HU", "display")
    with pytest.raises(ConfigError, match="volume.intensity must be one of auto, hu, display"):
        resolve_unit("HU", "HU")


def test_cohort_check_refuses_forced_hu_on_display_files():
    rec = pd.DataFrame({"participant_id": ["sub-1", "sub-2", "sub-3"],
                        "file": ["a/ct.nii.gz", "b/png", "c/x.jpg"],
                        "units": [None, "display", "display"]})
    check_intensity_setting(rec, "auto")
    check_intensity_setting(rec.iloc[:1], "hu")
    with pytest.raises(ConfigError) as err:
        check_intensity_setting(rec, "hu")
    assert str(err.value).startswith("sub-2 b/png holds display grey levels")
    assert str(err.value).endswith("(1 more file(s) like it)") and "\n" not in str(err.value)


def test_a_folder_of_jpegs_per_patient_is_one_display_scan(tmp_path):
    folder = tmp_path / "sub-01"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in (1, 2, 10):
        Image.fromarray(rng.integers(0, 256, (65, 65), dtype=np.uint8)).save(folder / f"{k}.JPG")
    vol = read_volume(folder)
    assert vol.shape == (65, 65, 3) and volume_unit(vol) == "display"
    assert display_full_scale(vol) == 255.0
