import json

import numpy as np
import pandas as pd
import pydicom
import pytest
from PIL import Image

from neurodx.errors import ConfigError
from neurodx.io.volumes import describe_volume, read_volume
from neurodx.preprocessing.intensity import to_uint8
from neurodx.simulate.ct import simulate_ct_cohort, simulate_ct_volume

SMALL = {"shape": (64, 64, 4), "slice_thickness": 10.0}


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_dicom_bytes(tmp_path):
    a = simulate_ct_cohort(tmp_path / "a" / "ct", subjects_per_group=1, seed=4, **SMALL)
    b = simulate_ct_cohort(tmp_path / "b" / "ct", subjects_per_group=1, seed=4, n_jobs=2,
                           **SMALL)
    files_a = _files(a)
    assert sum(name.endswith(".dcm") for name in files_a) == 3 * 4
    assert files_a == _files(b)
    c = simulate_ct_cohort(tmp_path / "c" / "ct", subjects_per_group=1, seed=5, **SMALL)
    assert _files(c)["sub-normal01/ct/dicom/slice-001.dcm"] != \
        files_a["sub-normal01/ct/dicom/slice-001.dcm"]


def test_tissues_in_hounsfield_ranges():
    hu, positions, truth = simulate_ct_volume("none", shape=(128, 128, 6), seed=0)
    assert hu.dtype == np.int16 and positions.shape == (6, 3)
    assert np.median(hu[:8, :8]) < -950                     # air in the corner
    assert hu.max() > 1000                                  # skull
    centre = hu[54:74, 44:84, 2:4]                          # central brain
    assert 15 < np.median(centre) < 45
    share = lambda lo, hi: np.mean((hu >= lo) & (hu < hi))  # noqa: E731
    assert share(-1100, -900) > 0.2 and share(900, 3072) > 0.01 and share(15, 50) > 0.1
    assert share(-10, 12) > 0.001                           # CSF / ventricles
    assert np.all(np.diff(positions[:, 2]) == 5.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lesions_change_only_their_slices_in_the_documented_direction(seed):
    for lesion, sign in (("infarct", -1), ("hemorrhage", 1)):
        kw = {"shape": (96, 96, 8), "seed": seed}
        hu, _, truth = simulate_ct_volume(lesion, **kw)
        invisible, _, _ = simulate_ct_volume(lesion, effect_size=0.0, **kw)
        diff = hu.astype(float) - invisible
        touched = np.flatnonzero(np.abs(diff).max(axis=(0, 1)) > 0)
        assert set(truth["lesion_slices"]) <= set(touched)
        strong = diff[np.abs(diff) > 5]
        if lesion == "infarct":
            assert strong.size and strong.mean() < -5
        else:
            assert strong.size and strong.max() > 20 and truth["hu"] >= 60
        assert sign * np.sum(diff) > 0


def test_dicom_nifti_png_outputs_agree_and_identity_stays_in_headers(tmp_path):
    kw = dict(groups=("normal", "hemorrhage"), subjects_per_group=1, seed=7, **SMALL)
    dcm = simulate_ct_cohort(tmp_path / "dcm", fmt="dicom", **kw)
    nii = simulate_ct_cohort(tmp_path / "nii", fmt="nifti", **kw)
    png = simulate_ct_cohort(tmp_path / "png", fmt="png", **kw)
    tables = {name: pd.read_csv(root / "participants.tsv", sep="\t", dtype=str)
              for name, root in (("dcm", dcm), ("nii", nii), ("png", png))}
    for row_d, row_n, row_p in zip(*(t.itertuples() for t in tables.values())):
        a, b = read_volume(dcm / row_d.path), read_volume(nii / row_n.path)
        np.testing.assert_array_equal(np.asarray(a.dataobj), np.asarray(b.dataobj))
        np.testing.assert_allclose(a.affine, b.affine, atol=1e-4)
        gray = np.asarray(read_volume(png / row_p.path).dataobj)
        np.testing.assert_array_equal(gray, to_uint8(np.asarray(a.dataobj), 40, 80))
    info = describe_volume(dcm / tables["dcm"].path[0])
    assert info["units"] == "HU" and info["zooms"] == (3.75, 3.75, 10.0)
    ds = pydicom.dcmread(next((dcm / tables["dcm"].path[0]).iterdir()))
    assert ds.RescaleIntercept == -1024 and ds.RescaleSlope == 1 and ds.Modality == "CT"
    assert str(ds.PatientName) and ds.PatientBirthDate and ds.PatientID.startswith("MRN")
    outputs = "".join((dcm / f).read_text() for f in ("participants.tsv", "lesions.tsv",
                                                       "simulation.json", "README.md"))
    for secret in (str(ds.PatientName).split("^")[0], ds.PatientBirthDate, ds.PatientID):
        assert secret not in outputs
    assert "SYNTHETIC" in (dcm / "README.md").read_text()
    assert set(tables["dcm"]["synthetic"]) == {"yes"}
    assert json.loads((dcm / "simulation.json").read_text())["synthetic"] is True
    lesions = pd.read_csv(dcm / "lesions.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert lesions["lesion"].tolist() == ["none", "hemorrhage"]


def test_single_slice_png_is_one_file_and_bad_options(tmp_path):
    out = simulate_ct_cohort(tmp_path / "one", ("normal",), 1, fmt="png", shape=(32, 32, 1))
    path = pd.read_csv(out / "participants.tsv", sep="\t")["path"][0]
    assert path.endswith(".png") and Image.open(out / path).mode == "L"
    with pytest.raises(ConfigError, match="no lesion type for group"):
        simulate_ct_cohort(tmp_path / "x", ("stroke",), 1, **SMALL)
    with pytest.raises(ConfigError, match="fmt"):
        simulate_ct_cohort(tmp_path / "x", fmt="tiff", **SMALL)
    out = simulate_ct_cohort(tmp_path / "custom", ("ctrl", "bleed"), 1,
                             lesions={"ctrl": "none", "bleed": "hemorrhage"}, **SMALL)
    assert "lesions={'ctrl': 'none'" in (out / "README.md").read_text()
