"""Batch scoring with a bundle: bad files, resuming after a kill, Dask = joblib, privacy."""
import json
import re
import shutil
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import pytest

from neurodx.cli import main
from neurodx.io import load_cohort
from neurodx.scoring import journal_path, score_inputs
from neurodx.scoring.score import _Stopped
from neurodx.simulate import simulate_eeg_raw

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture(scope="module")
def batch(small_eeg_cohort, tmp_path_factory):
    """Three good recordings, one at 256 Hz (resampled), a truncated EDF, a 32-channel EDF,
    a region table and a text file."""
    d = tmp_path_factory.mktemp("batch") / "incoming"
    d.mkdir()
    for s in load_cohort(small_eeg_cohort).subjects[:3]:
        shutil.copy(s.paths[0], d / s.paths[0].name)
    data = (small_eeg_cohort / "sub-HC02/eeg/sub-HC02_task-rest_eeg.edf").read_bytes()
    (d / "truncated.edf").write_bytes(data[: len(data) // 3])
    raw = simulate_eeg_raw("HC", n_channels=32, sfreq=128.0, duration=8.0, seed=5)
    mne.export.export_raw(d / "ch32.edf", raw, fmt="edf", verbose="ERROR")
    raw = simulate_eeg_raw("HC", n_channels=64, sfreq=256.0, duration=8.0, seed=6)
    mne.export.export_raw(d / "at256hz.edf", raw, fmt="edf", verbose="ERROR")   # resampled
    pd.DataFrame(np.random.default_rng(0).standard_normal((50, 10))).to_csv(
        d / "regions.tsv", sep="\t", index=False)
    (d / "notes.txt").write_text("not a recording\n")
    (d / "sub-x_eeg.json").write_text("{}")                # a sidecar: not an input
    return d


@pytest.fixture(scope="module")
def clean_run(eeg_bundle, batch, tmp_path_factory):
    out = tmp_path_factory.mktemp("clean") / "scores.csv"
    result = score_inputs(eeg_bundle, [batch], out)
    return result, out.read_bytes()


def test_one_row_per_input_and_bad_files_do_not_stop_the_batch(clean_run, batch):
    result, _ = clean_run
    df = pd.read_csv(result.out, keep_default_na=False)
    assert list(df.columns) == ["participant_id", "file", "predicted", "proba_CHR", "proba_FES",
                                "proba_HC", "vote_margin", "model_id", "status", "error"]
    assert df["file"].tolist() == sorted(df["file"])            # deterministic order
    assert (df["model_id"] == result.model_id).all()
    ok = df[df["status"] == "ok"]
    assert sorted(ok["participant_id"]) == sorted(["at256hz"] + [p.name[:-4] for p in
                                                                 batch.glob("sub-*.edf")])
    assert np.allclose(ok[["proba_CHR", "proba_FES", "proba_HC"]].astype(float).sum(axis=1), 1,
                       atol=1e-5)
    assert (ok["vote_margin"] == "").all()                      # not a CNN route
    errors = dict(zip(df["participant_id"], df["error"]))
    assert errors["truncated"].startswith("truncated file")
    assert errors["ch32"].startswith("32 EEG channels, missing 32 of the model's 64")
    assert errors["regions"].startswith("a regions file; this model takes eeg recordings")
    assert "unknown file format '.txt'" in errors["notes"]
    assert (result.n_inputs, result.n_ok, result.n_error) == (8, 4, 4)


def test_rerun_is_idempotent(eeg_bundle, batch, clean_run, tmp_path):
    _, expected = clean_run
    out = tmp_path / "scores.csv"
    first = score_inputs(eeg_bundle, [batch], out)
    lines = journal_path(out).read_text()
    again = score_inputs(eeg_bundle, [batch], out)
    assert (first.n_scored, again.n_scored, again.n_from_journal) == (8, 0, 8)
    assert journal_path(out).read_text() == lines and out.read_bytes() == expected


def test_killed_and_resumed_run_equals_a_clean_run(eeg_bundle, batch, clean_run, tmp_path):
    _, expected = clean_run
    out = tmp_path / "scores.csv"
    with pytest.raises(_Stopped):
        score_inputs(eeg_bundle, [batch], out, _stop_after=3)
    assert not out.exists()                                   # nothing half-written
    assert journal_path(out).read_text().count("\n") == 3
    with open(journal_path(out), "ab") as fh:                 # and killed mid-append
        fh.write(b'{"key": "')
    resumed = score_inputs(eeg_bundle, [batch], out)
    assert (resumed.n_scored, resumed.n_from_journal) == (5, 3)
    assert out.read_bytes() == expected
    assert not list(tmp_path.glob(".scores.csv.*"))           # no temporary file left


def test_dask_local_cluster_and_joblib_give_the_same_file(eeg_bundle, batch, tmp_path):
    # Small on purpose: worker start-up (imports) dominates on two cores.
    inputs = sorted(batch.glob("sub-*.edf"))[:2] + [batch / "ch32.edf"]
    score_inputs(eeg_bundle, inputs, tmp_path / "here.csv")
    score_inputs(eeg_bundle, inputs, tmp_path / "joblib.csv", n_jobs=2)
    score_inputs(eeg_bundle, inputs, tmp_path / "dask.csv", n_jobs=1, scheduler="local")
    expected = (tmp_path / "here.csv").read_bytes()
    assert expected.count(b"\n") == 4
    assert (tmp_path / "joblib.csv").read_bytes() == expected
    assert (tmp_path / "dask.csv").read_bytes() == expected


def _planted(edf_files) -> list[str]:
    """Fake names and birthdates the EEG simulator wrote into the EDF headers."""
    out = []
    for f in edf_files:
        info = mne.io.read_raw_edf(f, verbose="ERROR").info["subject_info"]
        b = info["birthday"]
        out += [info["first_name"], info["last_name"], b.strftime("%Y-%m-%d"),
                b.strftime("%d-%b-%Y").upper(), b.strftime("%Y%m%d")]
    return out


def _leaks(text: str, secrets) -> list[str]:
    return [s for s in secrets if re.search(rf"\b{re.escape(s)}\b", text)]


def test_cli_train_and_score_exit_codes_and_no_patient_names(small_eeg_cohort, batch, tmp_path,
                                                             capsys, caplog):
    from neurodx.bundles import load_bundle

    model = tmp_path / "model"
    assert main(["train", str(CONFIGS / "hc_fes_chr_eeg.yaml"), "--route", "rmt_les", "--cohort",
                 str(small_eeg_cohort), "--set", "eeg.min_duration=0", "--out", str(model)]) == 0
    out = capsys.readouterr()
    assert "trained route rmt_les" in out.out and "SYNTHETIC" in out.out
    assert load_bundle(model).manifest["training"]["n_subjects"] == 6
    scores = tmp_path / "scores.csv"
    assert main(["score", str(model), str(batch), "--out", str(scores), "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "4 ok, 4 error(s)" in captured.out
    assert "ch32.edf: 32 EEG channels" in caplog.text               # per-file errors logged
    good = [p for p in batch.glob("sub-*.edf")]
    assert main(["score", str(model), *map(str, good), "--out", str(tmp_path / "ok.csv")]) == 0
    captured2 = capsys.readouterr()
    secrets = _planted(good + sorted(small_eeg_cohort.rglob("*.edf")))
    assert len(secrets) > 10
    texts = {"stdout": out.out + captured.out + captured2.out,
             "stderr": out.err + captured.err + captured2.err, "log": caplog.text,
             "scores.csv": scores.read_text(), "journal": journal_path(scores).read_text(),
             "manifest.json": (model / "manifest.json").read_text()}
    for name, text in texts.items():
        assert not _leaks(text, secrets), name
    assert "sub-HC01" in texts["scores.csv"]                       # ids and file names do appear
    assert json.loads(texts["manifest.json"])["input"]["n_channels"] == 64
