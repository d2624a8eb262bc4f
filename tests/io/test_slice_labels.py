"""slices.tsv: what each slice of a scan shows (neurodx.io.slice_labels)."""
import pytest

from neurodx.errors import CohortError
from neurodx.io.slice_labels import check_slice_labels, read_slice_labels


def write(tmp_path, text):
    path = tmp_path / "slices.tsv"
    path.write_text(text)
    return path


def test_reads_only_the_subjects_asked_for(tmp_path):
    path = write(tmp_path, "participant_id\tslice\tlabel\n"
                           "sub-01\t0\tnormal\nsub-01\t2\themorrhage\n"
                           "sub-02\t1\themorrhage\nsub-03\tbad\tnormal\n")
    # sub-03's malformed row is never parsed: only the subjects asked for are read
    assert read_slice_labels(path, ["sub-01"]) == {"sub-01": {0: "normal", 2: "hemorrhage"}}
    assert read_slice_labels(path, ["sub-02", "sub-04"]) == {"sub-02": {1: "hemorrhage"}}


@pytest.mark.parametrize("text, match", [
    ("participant_id\tslice\nsub-01\t0\n", r"missing column\(s\) label"),
    ("participant_id\tslice\tlabel\nsub-01\t-1\tnormal\n", "0-based slice index, got '-1'"),
    ("participant_id\tslice\tlabel\nsub-01\t1.5\tnormal\n", "0-based slice index"),
    ("participant_id\tslice\tlabel\nsub-01\t0\tn/a\n", "slice 0 has no label"),
    ("participant_id\tslice\tlabel\nsub-01\t0\tnormal\nsub-01\t0\tnormal\n",
     "line 3 .*slice 0 is listed twice"),
])
def test_bad_rows_name_the_file_and_line(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(CohortError, match=match) as err:
        read_slice_labels(path, ["sub-01"])
    assert str(path) in str(err.value) and "volume.slice_labels" in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(CohortError, match="slice-label file not found"):
        read_slice_labels(tmp_path / "slices.tsv", ["sub-01"])


def test_labels_must_be_groups_and_slices_must_exist():
    labels = {"sub-01": {0: "normal", 3: "bleed"}}
    with pytest.raises(CohortError, match="slice 3 is labelled 'bleed', not one of the groups"):
        check_slice_labels(labels, ["hemorrhage", "normal"], {}, "slices.tsv")
    with pytest.raises(CohortError, match=r"slice 3 does not exist \(the scan has 3 slices"):
        check_slice_labels({"sub-01": {3: "normal"}}, ["hemorrhage", "normal"],
                           {"sub-01": 3}, "slices.tsv")
    check_slice_labels({"sub-01": {2: "normal"}}, ["hemorrhage", "normal"], {"sub-01": 3},
                       "slices.tsv")
