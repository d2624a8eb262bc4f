
import numpy as np
import pandas as pd
import pytest

from neurodx.errors import CohortError
from neurodx.io import load_cohort


def _write_tsv(folder, rows, columns=("participant_id", "group", "path")):
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=list(columns)).to_csv(folder / "participants.tsv", sep="\t",
                                                     index=False)


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.zeros((30, 3))) if path.suffix == ".npy" else path.write_text("x")
    return path


def test_path_column_groups_sites_and_extra_columns(small_eeg_cohort):
    cohort = load_cohort(small_eeg_cohort)
    assert cohort.modality == "eeg"
    assert len(cohort) == 6
    assert cohort.groups == ["CHR", "FES", "HC"]
    assert cohort.sites == ["site1", "site2"]
    assert "age" in cohort.participants.columns  # other columns kept
    assert all(p.is_file() for s in cohort for p in s.paths)
    counts = cohort.counts()
    assert counts.loc["total", "total"] == 6
    assert not cohort.problems


def test_bids_layout_without_path_column(tmp_path):
    _write_tsv(tmp_path, [["sub-01", "HC"], ["02", "FES"]], ("participant_id", "group"))
    _touch(tmp_path / "sub-01" / "func" / "sub-01_task-rest_timeseries.npy")
    _touch(tmp_path / "sub-01" / "func" / "sub-01_task-rest_timeseries.json")  # sidecar
    _touch(tmp_path / "sub-02" / "ses-1" / "func" / "sub-02_ses-1_timeseries.npy")
    cohort = load_cohort(tmp_path)
    assert cohort.modality == "regions"
    assert [len(s.paths) for s in cohort] == [1, 1]
    assert cohort.subject("02").paths[0].name == "sub-02_ses-1_timeseries.npy"


def test_several_files_per_subject_and_globs(tmp_path):
    for run in (1, 2):
        _touch(tmp_path / "data" / f"a_run{run}.npy")
    _touch(tmp_path / "data" / "b.npy")
    _write_tsv(tmp_path, [["a", "HC", "data/a_run*.npy"], ["b", "MA", "data/b.npy;data/b.npy"]])
    cohort = load_cohort(tmp_path)
    assert len(cohort.subject("a").paths) == 2
    assert len(cohort.subject("b").paths) == 2


def test_duplicate_ids_unknown_labels_missing_files_are_reported_not_dropped(tmp_path):
    _touch(tmp_path / "x.npy")
    _write_tsv(tmp_path, [["s1", "HC", "x.npy"], ["s1", "HC", "x.npy"], ["s2", "SZ", "x.npy"],
                          ["s3", "HC", "gone.npy"], ["s4", "", "x.npy"], ["s5", "HC", "x.npy"]])
    cohort = load_cohort(tmp_path, groups=["HC", "FES"])
    assert cohort.participant_ids == ["s5"]
    assert set(cohort.excluded) == {"s1", "s2", "s3", "s4"}
    text = "\n".join(map(str, cohort.problems))
    assert "s1: duplicate participant_id" in text and "lines 2, 3" in text
    assert "s2: unknown group label 'SZ'" in text
    assert "s3: recording not found: gone.npy" in text
    assert "s4: no 'group' label" in text
    assert cohort.has_errors


def test_group_column_option(tmp_path):
    _touch(tmp_path / "x.npy")
    _write_tsv(tmp_path, [["s1", "patient", "x.npy"]], ("participant_id", "diagnosis", "path"))
    with pytest.raises(CohortError, match="missing column 'group'"):
        load_cohort(tmp_path)
    assert load_cohort(tmp_path, group_column="diagnosis").groups == ["patient"]


def test_ids_keep_leading_zeros(tmp_path):
    _touch(tmp_path / "x.npy")
    _write_tsv(tmp_path, [["007", "HC", "x.npy"]])
    assert load_cohort(tmp_path).participant_ids == ["007"]


@pytest.mark.parametrize("setup, message", [
    (lambda d: None, "no participants.tsv"),
    (lambda d: (d / "participants.tsv").write_text("participant_id\tgroup\n"), "no participants"),
    (lambda d: (d / "participants.tsv").write_text("id\tgroup\nx\tHC\n"), "missing column"),
])
def test_unusable_cohort_folder(tmp_path, setup, message):
    setup(tmp_path)
    with pytest.raises(CohortError, match=message):
        load_cohort(tmp_path)


def test_unknown_format_is_a_subject_problem(tmp_path):
    _touch(tmp_path / "a.xyz")
    _touch(tmp_path / "b.npy")
    _write_tsv(tmp_path, [["a", "HC", "a.xyz"], ["b", "HC", "b.npy"]])
    cohort = load_cohort(tmp_path)
    assert cohort.participant_ids == ["b"]
    assert "unknown file format '.xyz'" in str(cohort.problems[0])


def test_mixed_modalities_need_an_explicit_modality(tmp_path):
    _touch(tmp_path / "a.npy")
    _touch(tmp_path / "b.nii.gz")
    _write_tsv(tmp_path, [["a", "HC", "a.npy"], ["b", "HC", "b.nii.gz"]])
    with pytest.raises(CohortError, match="several kinds"):
        load_cohort(tmp_path)
    cohort = load_cohort(tmp_path, modality="regions")
    assert cohort.participant_ids == ["a"] and cohort.excluded == ("b",)


def test_restricted_to_lists_the_dropped_subjects(small_eeg_cohort):
    cohort = load_cohort(small_eeg_cohort)
    smaller = cohort.restricted_to(cohort.participant_ids[:2])
    assert len(smaller) == 2 and len(smaller.excluded) == 4


def test_volume_recordings_of_every_kind_are_modality_volume(tmp_path):
    from PIL import Image

    from neurodx.io.dicom_writer import write_dicom_series

    _touch(tmp_path / "a.nii.gz")
    _touch(tmp_path / "b.NII")
    hu = np.zeros((8, 8, 2), dtype=np.int16)
    write_dicom_series(tmp_path / "c_dicom", hu)                       # a series folder
    write_dicom_series(tmp_path / "d_tmp", hu[:, :, :1], file_name="IM0001")
    (tmp_path / "d_tmp" / "IM0001").rename(tmp_path / "IM0001")         # no extension: "DICM"
    (tmp_path / "e_png").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "e_png" / "slice1.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "f.JPG")
    _touch(tmp_path / "g.IMA")
    rows = [["a", "HC", "a.nii.gz"], ["b", "HC", "b.NII"], ["c", "HC", "c_dicom"],
            ["d", "MA", "IM0001"], ["e", "MA", "e_png"], ["f", "MA", "f.JPG"],
            ["g", "MA", "g.IMA"]]
    _write_tsv(tmp_path, rows)
    cohort = load_cohort(tmp_path)
    assert cohort.modality == "volume" and not cohort.problems
    assert cohort.participant_ids == [r[0] for r in rows]
    # A file without extension and without the DICOM marker stays unknown.
    _touch(tmp_path / "README")
    _write_tsv(tmp_path, rows + [["h", "MA", "README"]])
    cohort = load_cohort(tmp_path)
    assert cohort.excluded == ("h",) and "unknown file format '(none)'" in str(cohort.problems[0])


def test_bids_layout_finds_volume_files_and_folders(tmp_path):
    _write_tsv(tmp_path, [["sub-01", "HC"], ["sub-02", "MA"]], ("participant_id", "group"))
    _touch(tmp_path / "sub-01" / "func" / "sub-01_task-rest_bold.nii.gz")
    _touch(tmp_path / "sub-01" / "func" / "sub-01_task-rest_bold.json")       # sidecar
    _touch(tmp_path / "sub-02" / "ct" / "dicom" / "slice-001.dcm")
    cohort = load_cohort(tmp_path)
    assert cohort.modality == "volume"
    assert [[p.name for p in s.paths] for s in cohort] == [["sub-01_task-rest_bold.nii.gz"],
                                                           ["dicom"]]


def test_paths_leading_outside_the_cohort_folder_are_refused_per_subject(tmp_path):
    c = tmp_path / "cohort"
    _touch(c / "a.npy")
    for name in ("x", "y", "z"):
        _touch(tmp_path / "elsewhere" / f"{name}.npy")
    _write_tsv(c, [["a", "HC", "a.npy"], ["b", "SZ", "../elsewhere/x.npy"],
                   ["c", "SZ", "../*/y.npy"], ["d", "SZ", str(tmp_path / "elsewhere/z.npy")]])
    cohort = load_cohort(c)
    assert cohort.participant_ids == ["a"] and set(cohort.excluded) == {"b", "c", "d"}
    assert all("leads outside the cohort folder" in p.message and "--allow-outside" in p.message
               for p in cohort.problems)
    allowed = load_cohort(c, allow_outside=True)
    assert allowed.subject("b").paths == (c / "../elsewhere/x.npy",)


def test_a_file_listed_for_two_subjects_excludes_both(tmp_path):
    # A too-wide glob gave one subject the others' files: the same data would sit
    # on both sides of a fold.
    for pid in ("s1", "s2", "s3"):
        _touch(tmp_path / pid / "ts.npy")
    _write_tsv(tmp_path, [["s1", "HC", "s1/ts.npy"], ["s2", "SZ", "s2/ts.npy"],
                          ["s3", "SZ", "s3/ts.npy"], ["s4", "HC", "s[12]/ts.npy"]])
    cohort = load_cohort(tmp_path)
    assert cohort.participant_ids == ["s3"]
    assert set(cohort.excluded) == {"s1", "s2", "s4"}
    assert any(p.source == "s4" and "also listed for s1, s2" in p.message
               for p in cohort.problems)


def test_a_folder_named_like_a_file_is_that_subjects_error(tmp_path):
    _touch(tmp_path / "a.edf")
    (tmp_path / "b.edf").mkdir()
    _touch(tmp_path / "c.edf")
    _write_tsv(tmp_path, [["a", "HC", "a.edf"], ["b", "SZ", "b.edf"], ["c", "SZ", "c.edf"]])
    cohort = load_cohort(tmp_path)
    assert cohort.modality == "eeg" and cohort.participant_ids == ["a", "c"]
    assert cohort.excluded == ("b",)
    assert cohort.problems[0].message.endswith("b.edf: is a folder, expected an EDF file")
