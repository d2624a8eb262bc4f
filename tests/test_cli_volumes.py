"""Volume cohorts on the command line: simulate fMRI / CT, then inspect them (issue 5, done when).

Every cohort here is SYNTHETIC and small, so each test takes a second or two.
"""
import re
import shlex
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pydicom
import pytest

from neurodx.cli import main
from neurodx.io import load_cohort, read_volume
from neurodx.io.dicom_writer import write_dicom_series
from neurodx.preprocessing import SliceDataset, iter_slices

PATIENT = {"PatientName": "Doe^Jane", "PatientID": "MRN12345678",
           "PatientBirthDate": "19700101", "PatientSex": "F"}


def _nifti(path, shape, seed=0, tr=2.0):
    data = np.random.default_rng(seed).normal(100, 10, shape).astype(np.float32)
    img = nib.Nifti1Image(data, np.diag([3.0, 3.0, 4.0, 1.0]))
    img.header.set_xyzt_units("mm", "sec")
    if len(shape) == 4:
        img.header.set_zooms((3.0, 3.0, 4.0, tr))
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, path)
    return path


def _dicom(folder, n=4, seed=0, **kw):
    hu = np.random.default_rng(seed).integers(-1000, 1500, (10, 12, n))
    write_dicom_series(folder, hu, patient=PATIENT, **kw)


def _cohort(root, rows):
    pd.DataFrame(rows, columns=["participant_id", "group", "path"]).to_csv(
        root / "participants.tsv", sep="\t", index=False)
    return root


def _value_range(cohort):
    values = [np.asarray(read_volume(p).dataobj) for s in load_cohort(cohort) for p in s.paths]
    return min(v.min() for v in values), max(v.max() for v in values)


def test_simulate_fmri_then_inspect(tmp_path, capsys):
    out = tmp_path / "fmri"
    assert main(["simulate", "fmri", "--out", str(out), "--groups", "HC", "MA",
                 "--subjects-per-group", "2", "--shape", "12", "12", "6", "--frames", "5",
                 "--tr", "2.0", "--seed", "3", "--effect-size", "1.5"]) == 0
    said = capsys.readouterr().out
    assert said.count("\n") == 1 and "SYNTHETIC fMRI cohort of 4 subjects" in said
    assert set(pd.read_csv(out / "participants.tsv", sep="\t")["synthetic"]) == {"yes"}

    assert main(["inspect", str(out), "--require-4d"]) == 0
    text = capsys.readouterr().out
    lo, hi = _value_range(out)
    for expected in ["modality: volume; 4 subjects", "formats: nifti (all)",
                     "shape (as stored): 12x12x6 (all)", "voxel size (mm): 3.75x3.75x4 (all)",
                     "frames: 5 (all)", "repetition time (s): 2 (all)", "orientation: RAS (all)",
                     f"value range: {lo:g} .. {hi:g}", "sub-MA02", "READY: no errors."]:
        assert expected in text

    # The README's command line regenerates the cohort byte for byte.
    command = (out / "README.md").read_text().strip().splitlines()[-1].strip()
    assert command.startswith("neurodx simulate fmri ") and "--effect-size 1.5" in command
    argv = shlex.split(command)[1:]
    argv[argv.index("--out") + 1] = str(tmp_path / "again")
    assert main(argv) == 0
    for rel in pd.read_csv(out / "participants.tsv", sep="\t")["path"]:
        assert (out / rel).read_bytes() == (tmp_path / "again" / rel).read_bytes()


def test_simulate_ct_dicom_then_inspect_in_hounsfield_units(tmp_path, capsys):
    out = tmp_path / "ct"
    assert main(["simulate", "ct", "--out", str(out), "--groups", "normal", "infarct",
                 "hemorrhage", "--subjects-per-group", "1", "--format", "dicom",
                 "--shape", "32", "32", "3", "--seed", "5"]) == 0
    said = capsys.readouterr().out
    assert "SYNTHETIC head CT cohort of 3 subjects" in said and "DICOM series in HU" in said

    assert main(["inspect", str(out)]) == 0
    captured = capsys.readouterr()
    lo, hi = _value_range(out)
    assert -1024 <= lo < -900 and hi > 1000           # air and skull, in HU
    for expected in ["formats: dicom (all)", "shape (as stored): 32x32x3 (all)",
                     "voxel size (mm): 7.5x7.5x5 (all)", "frames: 1 (all)",
                     "orientation: LPS (all)", f"HU range: {lo:g} .. {hi:g}",
                     "sub-hemorrhage01/ct/dicom", "READY: no errors."]:
        assert expected in captured.out
    # The fake identities planted in the headers never reach the output.
    planted = []
    for rel in pd.read_csv(out / "participants.tsv", sep="\t")["path"]:
        ds = pydicom.dcmread(sorted((out / rel).iterdir())[0])
        planted += [*str(ds.PatientName).split("^"), ds.PatientID, ds.PatientBirthDate]
    for secret in planted:
        assert secret not in captured.out and secret not in captured.err


def test_inspect_names_each_bad_volume_and_exits_1(tmp_path, capsys):
    _nifti(tmp_path / "ok1.nii.gz", (8, 8, 5, 4), seed=1)
    _nifti(tmp_path / "ok2.nii.gz", (8, 8, 5, 4), seed=2)
    _nifti(tmp_path / "anat.nii.gz", (8, 8, 5), seed=3)
    (tmp_path / "cut.nii.gz").write_bytes(b"not a gzip stream")
    (tmp_path / "empty").mkdir()
    _dicom(tmp_path / "mixed", n=3, uid_seed="a", series_number=1, file_name="a{}.dcm")
    _dicom(tmp_path / "mixed", n=3, uid_seed="b", series_number=2, file_name="b{}.dcm")
    _dicom(tmp_path / "gap", n=5)
    (tmp_path / "gap" / "slice-003.dcm").unlink()
    _cohort(tmp_path, [["s1", "HC", "ok1.nii.gz"], ["s2", "MA", "ok2.nii.gz"],
                       ["s3", "MA", "anat.nii.gz"], ["s4", "HC", "cut.nii.gz"],
                       ["s5", "MA", "empty"], ["s6", "HC", "mixed"], ["s7", "MA", "gap"]])

    assert main(["inspect", str(tmp_path), "--require-4d"]) == 1
    captured = capsys.readouterr()
    errors = [ln.strip() for ln in captured.out.splitlines() if ln.strip().startswith("ERROR:")]
    expected = {"s3 anat.nii.gz": "a 3-D volume (shape 8x8x5) where a 4-D time series",
                "s4 cut.nii.gz": "not a readable NIfTI file",
                "s5 empty": "empty folder",
                "s6 mixed": "2 series mixed in one folder",
                "s7 gap": "missing slice"}
    for source, message in expected.items():
        mine = [e for e in errors if e.startswith(f"ERROR: {source}: ")]
        assert len(mine) == 1 and message in mine[0], (source, errors)
    assert len(errors) == len(expected)            # s1, s2 are fine: nothing else is reported
    assert "NOT READY: 5 error(s) affecting 5 subject(s)" in captured.out
    assert re.search(r"s1\s+HC\s+-\s+ok1.nii.gz\s+nifti\s+8x8x5 .* ok$", captured.out, re.M)
    for secret in ("Doe", "Jane", PATIENT["PatientID"], PATIENT["PatientBirthDate"]):
        assert secret not in captured.out and secret not in captured.err


def test_shape_policy_refuse_resample_and_expected_shape(tmp_path, capsys):
    for i, shape in enumerate([(8, 8, 5), (8, 8, 5), (8, 8, 4)]):
        _nifti(tmp_path / f"v{i}.nii.gz", shape, seed=i)
    _cohort(tmp_path, [[f"s{i}", "HC" if i % 2 else "MA", f"v{i}.nii.gz"] for i in range(3)])
    assert main(["inspect", str(tmp_path), "--summary"]) == 1
    assert "ERROR: s2 v2.nii.gz: shape 8x8x4 differs from the cohort's most common shape " \
           "8x8x5" in capsys.readouterr().out
    assert main(["inspect", str(tmp_path), "--summary", "--shape-policy", "resample"]) == 0
    out = capsys.readouterr().out
    assert "WARNING: s2 v2.nii.gz: shape 8x8x4 differs" in out and "will be resampled" in out
    assert "shape (as stored): 8x8x5 (2), 8x8x4 (1)" in out
    assert main(["inspect", str(tmp_path), "--summary", "--expected-shape", "8", "8", "4"]) == 1
    out = capsys.readouterr().out
    assert out.count("differs from the expected 8x8x4") == 2


def test_slicer_yields_31_slices_per_simulated_64x64x31_volume(tmp_path, capsys):
    out = tmp_path / "fmri"
    assert main(["simulate", "fmri", "--out", str(out), "--subjects-per-group", "1",
                 "--shape", "64", "64", "31", "--frames", "3", "--seed", "0"]) == 0
    cohort = load_cohort(out)
    img = read_volume(cohort.subjects[0].paths[0])
    slices = list(iter_slices(img))
    assert len(slices) == 31 * 3
    assert {s.data.shape for s in slices} == {(64, 64)}
    assert sorted({s.slice_index for s in slices}) == list(range(31))
    dataset = SliceDataset([(s.participant_id, s.paths, s.group) for s in cohort])
    assert len(dataset) == len(cohort) * 3 * 31
    sample = dataset[31 * 3 + 31 + 7]      # second subject, frame 1, slice 7
    assert (sample.subject_id, sample.frame_index, sample.slice_index) == ("sub-MA01", 1, 7)
    assert tuple(sample.image.shape) == (1, 64, 64) and sample.label == 1


@pytest.mark.parametrize("argv, message", [
    (["simulate", "ct", "--out", "{tmp}/x", "--lesions", "stroke"], "LABEL=TYPE"),
    (["simulate", "ct", "--out", "{tmp}/x", "--groups", "stroke"], "no lesion type for group"),
    (["simulate", "fmri", "--out", "{tmp}/x", "--frames", "1"], "at least 2 frames"),
])
def test_bad_simulation_options_are_one_line(tmp_path, capsys, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.mark.parametrize("name, options, groups, expected", [
    ("fmri", ["--require-4d"], ["HC", "MA"], ["shape (as stored): 24x24x12 (all)",
                                              "frames: 90 (all)"]),
    ("ct", [], ["normal", "infarct", "hemorrhage"], ["shape (as stored): 128x128x4 (all)",
                                                     "frames: 1 (all)"]),
])
def test_committed_sample_cohorts_are_synthetic_and_ready(capsys, name, options, groups,
                                                          expected):
    root = SAMPLE_DATA / name
    readme = (root / "README.md").read_text()
    assert "SYNTHETIC" in readme and f"neurodx simulate {name} --out sample_data/{name} " in readme
    assert set(pd.read_csv(root / "participants.tsv", sep="\t")["synthetic"]) == {"yes"}
    assert main(["inspect", str(root), "--summary", *options]) == 0
    text = capsys.readouterr().out
    assert all(e in text for e in expected) and "READY: no errors." in text
    per_group = 8 if name == "fmri" else 30  # the demo tests every subject (k-fold CV)
    for group in groups:
        assert re.search(rf"^\s+{group}\s+{per_group}\s+{per_group}$", text, re.M), group


def test_sample_data_stays_within_its_size_budget():
    size = sum(p.stat().st_size for p in SAMPLE_DATA.rglob("*") if p.is_file())
    # 24 MiB: the CT sample holds 90 patients because the CT recipe needs about 60
    # training patients to learn its lesions (README, "What the demo shows").
    assert size <= 24 * 2 ** 20, f"sample_data/ is {size / 2 ** 20:.1f} MiB, budget 24 MiB"
