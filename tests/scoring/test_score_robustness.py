"""``neurodx score`` never hangs and never crashes on odd inputs, outputs or journals."""
import errno
import os
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from neurodx.cli import main
from neurodx.errors import ConfigError
from neurodx.scoring import journal_path, score_inputs
from neurodx.scoring.lock import lock_path


@contextmanager
def _time_limit(seconds):
    def _raise(signum, frame):
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def good(small_eeg_cohort) -> Path:
    return small_eeg_cohort / "sub-HC01/eeg/sub-HC01_task-rest_eeg.edf"


def test_fifo_link_loop_empty_folder_and_good_files_give_one_row_each(eeg_bundle, good,
                                                                     tmp_path, capsys):
    d = tmp_path / "incoming"
    d.mkdir()
    shutil.copy(good, d / "good.edf")
    os.mkfifo(d / "pipe.edf")
    (d / "zero.edf").symlink_to("/dev/zero")
    (d / "loop.edf").symlink_to(d / "loop.edf")
    (d / "empty").mkdir()
    out = tmp_path / "scores.csv"
    with _time_limit(120):
        code = main(["score", str(eeg_bundle), str(d), "--out", str(out), "--no-progress"])
    assert code == 1
    df = pd.read_csv(out, keep_default_na=False).set_index("participant_id")
    assert sorted(df.index) == ["empty", "good", "loop", "pipe", "zero"]
    assert df.loc["good", "status"] == "ok"
    assert df.loc["pipe", "error"] == "not a regular file but a FIFO (named pipe)"
    assert df.loc["zero", "error"] == "not a regular file but a character device"
    assert df.loc["loop", "error"] == "symbolic link loop"
    assert df.loc["empty", "error"] == "empty folder: no recording in it"
    assert "1 ok, 4 error(s)" in capsys.readouterr().out
    assert not lock_path(out).exists()                     # released at the end


def test_out_that_is_a_folder_is_refused_before_any_work(eeg_bundle, good, tmp_path, capsys):
    out = tmp_path / "results"
    out.mkdir()
    code = main(["score", str(tmp_path / "no-bundle"), str(good), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "--out" in err and "is a folder" in err      # not the bundle error
    assert err.count("\n") == 1 and "Traceback" not in err
    assert list(out.iterdir()) == []


def test_a_second_scorer_on_the_same_out_is_refused(eeg_bundle, good, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    lock_path(out).write_text(f"{os.getpid()}\n")                    # a live scorer
    assert main(["score", str(eeg_bundle), str(good), "--out", str(out)]) == 2
    assert "another neurodx score (PID" in capsys.readouterr().err
    assert not out.exists() and not journal_path(out).exists()
    lock_path(out).unlink()


def test_a_stale_lock_is_taken_over(eeg_bundle, good, tmp_path, caplog):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "scores.csv"
    lock_path(out).write_text(f"{dead.pid}\n")
    result = score_inputs(eeg_bundle, [good], out)
    assert result.n_ok == 1 and "stale lock" in caplog.text
    assert not lock_path(out).exists()


def test_lock_refusal_is_a_config_error(eeg_bundle, good, tmp_path):
    out = tmp_path / "scores.csv"
    lock_path(out).write_text(f"{os.getpid()}\n")
    with pytest.raises(ConfigError, match="use another --out"):
        score_inputs(eeg_bundle, [good], out)


def test_journal_lines_without_their_fields_do_not_break_reruns(eeg_bundle, good, tmp_path):
    out = tmp_path / "scores.csv"
    first = score_inputs(eeg_bundle, [good], out)
    expected = out.read_bytes()
    key = journal_path(out).read_text().split('"key": "')[1].split('"')[0]
    journal_path(out).write_text(f'{{"key": "{key}"}}\n')             # fields lost
    again = score_inputs(eeg_bundle, [good], out)
    assert (first.n_scored, again.n_scored, again.n_from_journal) == (1, 1, 0)
    assert out.read_bytes() == expected


def test_out_of_memory_on_one_input_is_its_error_row(eeg_bundle, good, small_eeg_cohort,
                                                     tmp_path, monkeypatch):
    import neurodx.bundles

    real = neurodx.bundles.load_checked_input

    def load(path, bundle):
        if Path(path).name == "huge.edf":
            raise MemoryError()
        return real(path, bundle)

    monkeypatch.setattr(neurodx.bundles, "load_checked_input", load)
    shutil.copy(small_eeg_cohort / "sub-FES01/eeg/sub-FES01_task-rest_eeg.edf",
                tmp_path / "huge.edf")
    out = tmp_path / "scores.csv"
    assert main(["score", str(eeg_bundle), str(good), str(tmp_path / "huge.edf"),
                 "--out", str(out), "--no-progress"]) == 1
    df = pd.read_csv(out, keep_default_na=False).set_index("participant_id")
    assert df.loc["huge", "error"] == "out of memory while reading or scoring this input"
    assert df.loc["sub-HC01_task-rest_eeg", "status"] == "ok"


def test_a_full_disk_while_writing_the_output_exits_2_in_one_line(eeg_bundle, good, tmp_path,
                                                                  monkeypatch, capsys):
    import neurodx.scoring.score as score_module

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(score_module, "atomic_write_text", full)
    out = tmp_path / "scores.csv"
    assert main(["score", str(eeg_bundle), str(good), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "no space left on the device" in err and err.count("\n") == 1
