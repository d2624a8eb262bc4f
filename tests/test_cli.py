"""The command line as a user meets it: exit codes, one-line errors, no private data."""
import shutil

import mne
import pandas as pd
import pytest

from neurodx.cli import main
from neurodx.simulate import simulate_eeg_raw


def test_simulate_then_inspect(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["simulate", "eeg", "--out", str(out), "--groups", "HC", "MA",
                 "--subjects-per-group", "2", "--channels", "32", "--sfreq", "128",
                 "--duration", "4", "--seed", "1"]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    assert main(["inspect", str(out), "--channels", "32"]) == 0
    text = capsys.readouterr().out
    assert "READY" in text and "32 (all)" in text and "sub-MA02" in text


def test_inspect_reports_bad_files_and_exits_nonzero(eeg_cohort_copy, capsys):
    c = eeg_cohort_copy
    raw = simulate_eeg_raw("HC", n_channels=32, sfreq=128.0, duration=8.0, seed=1)
    mne.export.export_raw(c / "sub-HC01/eeg/sub-HC01_task-rest_eeg.edf", raw, fmt="edf",
                          overwrite=True)
    assert main(["inspect", str(c), "--channels", "64"]) == 1
    out = capsys.readouterr().out
    assert "ERROR: sub-HC01 sub-HC01/eeg/sub-HC01_task-rest_eeg.edf: 32 EEG channels, expected 64" in out
    assert "NOT READY" in out


def test_patient_names_never_reach_output(small_eeg_cohort, capsys):
    df = pd.read_csv(small_eeg_cohort / "participants.tsv", sep="\t")
    planted = []
    for rel in df["path"]:
        info = mne.io.read_raw_edf(small_eeg_cohort / rel).info["subject_info"]
        planted += [info["first_name"], info["last_name"], info["birthday"].strftime("%Y-%m-%d"),
                    info["birthday"].strftime("%d-%b-%Y").upper()]
    main(["inspect", str(small_eeg_cohort)])
    captured = capsys.readouterr()
    for secret in planted:
        assert secret not in captured.out and secret not in captured.err


@pytest.mark.parametrize("argv, message", [
    (["inspect", "/nonexistent/cohort"], "cohort folder not found"),
    (["simulate", "eeg", "--out", "{tmp}/x", "--channels", "48"], "no standard montage"),
])
def test_errors_are_one_line_without_traceback(tmp_path, capsys, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="cohort folder not found"):
        main(["--debug", "inspect", str(tmp_path / "missing")])
