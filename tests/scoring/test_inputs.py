"""Listing inputs: files, folders, cohorts; participant ids; content hashes."""
import hashlib

from neurodx.scoring import expand_inputs, input_sha256


def _touch(path, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_folder_walk_skips_sidecars_hidden_and_outputs(tmp_path):
    d = tmp_path / "batch"
    _touch(d / "b.edf")
    _touch(d / "sub" / "a.edf")
    _touch(d / "a.json")                        # BIDS sidecar
    _touch(d / ".hidden.edf")
    _touch(d / "notes.txt")                     # unknown format: still an input (reported)
    _touch(d / "x.vhdr")
    _touch(d / "x.eeg")                         # BrainVision data file: hashed with its header
    out = _touch(d / "scores.csv")
    items = expand_inputs([d], "eeg", skip=[out])
    assert [i.file for i in items] == [f"{d}/b.edf", f"{d}/notes.txt", f"{d}/sub/a.edf",
                                       f"{d}/x.vhdr"]
    assert [i.participant_id for i in items] == ["b", "notes", "a", "x"]
    assert all(i.error is None for i in items)


def test_cohort_gives_participant_ids_and_reports_missing_files(tmp_path):
    c = tmp_path / "cohort"
    _touch(c / "s1.nii.gz")
    _touch(c / "participants.tsv", "participant_id\tpath\nsub-01\ts1.nii.gz\nsub-02\tgone.nii.gz\n"
                                   "sub-03\tn/a\n")
    items = expand_inputs([c], "volume")
    by_pid = {i.participant_id: i for i in items}
    assert by_pid["sub-01"].file == f"{c}/s1.nii.gz" and by_pid["sub-01"].error is None
    assert by_pid["sub-02"].error == "file not found"
    assert "no recording" in by_pid["sub-03"].error


def test_files_are_listed_once_sorted_and_missing_ones_reported(tmp_path):
    a = _touch(tmp_path / "z.nii.gz")
    items = expand_inputs([a, tmp_path, tmp_path / "missing.edf"], "volume")
    assert [i.participant_id for i in items][-1] == "z"
    assert sum(i.path == a.resolve() for i in items) == 1
    missing = [i for i in items if i.error]
    assert [i.participant_id for i in missing] == ["missing"]


def test_series_folder_is_one_volume_input(tmp_path):
    from neurodx.simulate import simulate_ct_cohort

    c = simulate_ct_cohort(tmp_path / "ct", groups=("normal",), subjects_per_group=2,
                           shape=(16, 16, 2))
    series = sorted(c.glob("sub-*/ct/dicom"))
    items = expand_inputs([c / "sub-normal01", series[1]], "volume")
    assert [i.participant_id for i in items] == ["dicom", "dicom"]
    assert {i.path for i in items} == {s.resolve() for s in series}


def test_content_hash(tmp_path):
    f = _touch(tmp_path / "a.edf", "abc")
    assert input_sha256(f) == hashlib.sha256(b"abc").hexdigest()
    g = _touch(tmp_path / "moved" / "renamed.edf", "abc")
    assert input_sha256(g) == input_sha256(f)         # keyed by content, not by name
    _touch(tmp_path / "s" / "1.dcm", "a")
    _touch(tmp_path / "s" / "2.dcm", "b")
    before = input_sha256(tmp_path / "s")
    _touch(tmp_path / "s" / "2.dcm", "c")
    assert input_sha256(tmp_path / "s") != before


def test_special_files_links_and_empty_folders_are_error_rows_not_hangs(tmp_path):
    import os

    d = tmp_path / "batch"
    _touch(d / "good.edf")
    os.mkfifo(d / "fifo.edf")                   # opening it would block forever
    (d / "zero.edf").symlink_to("/dev/zero")    # reading it would never end
    (d / "loop").symlink_to(d / "loop")         # ELOOP
    (d / "empty").mkdir()
    _touch(d / "sub" / "a.edf")
    (d / "sub" / "up").symlink_to(d)            # a cycle back to the top
    _touch(d / "blank.edf", "")                 # 0 bytes
    _touch(d / "dir.edf" / "inside.edf")         # a folder named like a file
    empty_arg = tmp_path / "nothing"
    empty_arg.mkdir()
    items = expand_inputs([d, empty_arg], "eeg")
    errors = {i.file.rsplit("/", 1)[-1]: i.error for i in items}
    assert errors == {
        "good.edf": None, "a.edf": None,
        "fifo.edf": "not a regular file but a FIFO (named pipe)",
        "zero.edf": "not a regular file but a character device",
        "loop": "symbolic link loop",
        "empty": "empty folder: no recording in it",
        "up": "symbolic link back to an enclosing folder (a loop); not followed",
        "blank.edf": "empty file (0 bytes)",
        "dir.edf": "is a folder, expected an EDF file",
        "nothing": "empty folder: no recording in it"}
    assert all(i.path is None for i in items if i.error)   # never opened, never hashed


def test_cohort_paths_stay_inside_the_cohort_folder(tmp_path):
    c = tmp_path / "cohort"
    _touch(tmp_path / "other" / "secret.edf")
    _touch(c / "a.edf")
    _touch(c / "participants.tsv", "participant_id\tpath\nsub-01\ta.edf\n"
                                   "sub-02\t../other/secret.edf\nsub-03\t../*/secret.edf\n")
    items = {i.participant_id: i for i in expand_inputs([c], "eeg")}
    assert items["sub-01"].error is None
    for pid in ("sub-02", "sub-03"):
        assert "leads outside the cohort folder" in items[pid].error
        assert "--allow-outside" in items[pid].error and items[pid].path is None
    allowed = {i.participant_id: i for i in expand_inputs([c], "eeg", allow_outside=True)}
    assert allowed["sub-02"].path == (tmp_path / "other" / "secret.edf").resolve()


def test_a_folder_of_sidecars_only_says_so_and_empty_sidecars_are_skipped(tmp_path):
    d = tmp_path / "batch"
    _touch(d / "a.edf")
    _touch(d / "sub" / "x_events.tsv", "")      # an empty sidecar: skipped, never opened
    _touch(d / "sub" / "x_eeg.json", "{}")
    items = {i.file.rsplit("/", 1)[-1]: i.error for i in expand_inputs([d], "eeg")}
    assert items == {"a.edf": None, "sub": "no recording in this folder (only sidecar files)"}
