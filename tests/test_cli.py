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


@pytest.mark.parametrize("exc, message", [
    (RuntimeError("boom\nsecond line"), "internal error: RuntimeError: boom second line "
                                        "(run with --debug"),
    (KeyError("status"), "internal error: KeyError"),
    (MemoryError(), "error: out of memory"),
    (OSError(28, "No space left on device", "/data/out.csv"),
     "error: no space left on the device (/data/out.csv)"),
    (PermissionError(13, "Permission denied", "/data/x"), "error: Permission denied (/data/x)"),
])
def test_any_crash_exits_2_in_one_line_never_1(monkeypatch, tmp_path, capsys, exc, message):
    # Exit 1 means "some inputs failed"; a crash must never look like that.
    import neurodx.cli as cli

    def crash(args):
        raise exc

    monkeypatch.setattr(cli, "_cmd_inspect", crash)
    assert main(["inspect", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    with pytest.raises(type(exc)):
        main(["--debug", "inspect", str(tmp_path)])


@pytest.mark.parametrize("argv, message", [
    (["features", "{cohort}", "--out", "{folder}"], "is a folder"),
    (["compare", "configs/hc_fes_chr_eeg.yaml", "--out", "{file}"], "is a file"),
    (["train", "configs/hc_fes_chr_eeg.yaml", "--route", "rmt_les", "--out", "{file}"],
     "is a file"),
])
def test_out_is_checked_before_any_work(small_eeg_cohort, tmp_path, capsys, argv, message,
                                        monkeypatch):
    from pathlib import Path

    import neurodx.study.prepare as study

    def no_work(*args, **kwargs):
        raise AssertionError("the cohort was loaded before --out was checked")

    monkeypatch.setattr(study, "load_cohort", no_work)
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    (tmp_path / "f").write_text("x")
    (tmp_path / "features.csv").mkdir()
    argv = [a.format(cohort=small_eeg_cohort, folder=tmp_path / "features.csv",
                     file=tmp_path / "f") for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--out" in err and message in err and err.count("\n") == 1


def test_inspect_of_a_regions_cohort_with_an_absurd_npy_header_lists_it(tmp_path, capsys):
    import struct

    import numpy as np
    import pandas as pd

    for pid in ("a", "b", "c"):
        np.save(tmp_path / f"{pid}.npy", np.random.default_rng(0).standard_normal((40, 5)))
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 100000), }"
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    (tmp_path / "c.npy").write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header))
                                     + header + bytes(64))
    pd.DataFrame({"participant_id": ["a", "b", "c"], "group": ["X", "Y", "X"],
                  "path": ["a.npy", "b.npy", "c.npy"]}).to_csv(tmp_path / "participants.tsv",
                                                               sep="\t", index=False)
    assert main(["inspect", str(tmp_path)]) == 1          # the command ran; one input failed
    out = capsys.readouterr().out
    assert "the .npy header declares shape (1000000000, 100000)" in out
