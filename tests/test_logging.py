"""Log level (MNE's verbose convention), -v/-q on the command line, progress bars."""
import io
import logging

import pytest

from neurodx import set_log_level
from neurodx._logging import logger, progress, progress_enabled, use_log_level, verbose
from neurodx.cli import main


@pytest.fixture(autouse=True)
def _restore_level():
    old = logger.level
    yield
    logger.setLevel(old)


@pytest.mark.parametrize("value, level", [
    (True, logging.INFO), (False, logging.WARNING), (None, logging.WARNING),
    ("debug", logging.DEBUG), ("ERROR", logging.ERROR), (15, 15)])
def test_set_log_level_follows_mne_convention(value, level):
    set_log_level(value)
    assert logger.level == level


def test_set_log_level_rejects_unknown_names():
    with pytest.raises(ValueError, match="verbose must be"):
        set_log_level("loud")


def test_verbose_argument_sets_level_for_the_call_only():
    seen = []

    @verbose
    def work(x, verbose=None):
        seen.append(logger.getEffectiveLevel())
        return x

    set_log_level("warning")
    assert work(1, verbose="debug") == 1
    assert seen[-1] == logging.DEBUG
    assert logger.level == logging.WARNING     # restored after the call
    work(1)                                      # None keeps the caller's level
    assert seen[-1] == logging.WARNING


def test_public_functions_take_verbose():
    import inspect

    from neurodx.bundles import train_route
    from neurodx.evaluation.compare import run_comparison
    from neurodx.features import extract_features
    from neurodx.io import check_cohort
    from neurodx.scoring import score_inputs

    for f in (run_comparison, extract_features, check_cohort, score_inputs, train_route):
        assert inspect.signature(f).parameters["verbose"].default is None, f.__name__


def test_progress_is_off_when_stderr_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())   # not a TTY, like a pipe or CI
    set_log_level("info")
    assert not progress_enabled()
    assert list(progress(range(3), desc="x")) == [0, 1, 2]
    assert "x:" not in __import__("sys").stderr.getvalue()


def test_progress_on_a_terminal_unless_quiet(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    set_log_level("warning")
    assert progress_enabled()
    list(progress(range(3), desc="subjects", unit="subject"))
    assert "subjects" in term.getvalue()
    with use_log_level("error"):                  # -q
        assert not progress_enabled()
    assert list(progress(range(2), enabled=False, desc="off")) == [0, 1]  # still iterates
    assert "off" not in term.getvalue()


def test_quiet_inspect_prints_nothing_on_stderr(tmp_path, capsys):
    from neurodx.simulate import simulate_region_cohort

    cohort = simulate_region_cohort(tmp_path / "c", ["A", "B"], 2, n_regions=10, n_times=40,
                                    seed=0)
    assert main(["-q", "inspect", str(cohort), "--summary"]) == 0
    out, err = capsys.readouterr()
    assert "READY" in out and err == ""
    from neurodx.cli import _log_level, build_parser

    parse = build_parser().parse_args
    assert _log_level(parse(["inspect", str(cohort), "-v", "--summary"])) == "INFO"
    assert _log_level(parse(["inspect", str(cohort), "--summary", "--quiet"])) == "ERROR"
    assert _log_level(parse(["-vv", "inspect", str(cohort)])) == "DEBUG"
    # A command's level is its own: main() leaves the caller's level as it found it.
    before = logger.level
    assert main(["inspect", str(cohort), "--summary", "--quiet"]) == 0
    assert logger.level == before
