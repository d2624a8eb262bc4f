"""Issue 13 item 2 / issue 19 item 3, done when: brain_ct.yaml runs on PNG without HU windows
and on DICOM with them; a bundle records its unit and shape; scoring a scan of another unit is
an error row. SYNTHETIC cohorts written by the tests."""
from pathlib import Path

import pandas as pd
import pytest

from neurodx.bundles import load_bundle
from neurodx.cli import main
from neurodx.simulate import simulate_ct_cohort

CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "brain_ct.yaml")
TINY = ["--set", "routes.cnn7.preset=ct_fast", "--set", "routes.cnn7.epochs=1",
        "--set", "routes.cnn7.depth=3", "--set", "routes.cnn7.slice_shape=[16, 16]",
        "--set", "routes.cnn7.num_threads=1"]


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory):
    root = tmp_path_factory.mktemp("ct")
    return {fmt: simulate_ct_cohort(root / fmt, ("normal", "hemorrhage"), 3, fmt=fmt,
                                    shape=(24, 24, 2), seed=4)
            for fmt in ("png", "dicom", "nifti")}


@pytest.fixture(scope="module")
def hu_bundle(cohorts, tmp_path_factory):
    model = tmp_path_factory.mktemp("models") / "hu"
    assert main(["train", CONFIG, "--route", "cnn7", "--cohort", str(cohorts["dicom"]),
                 "--out", str(model), *TINY]) == 0
    return model


def test_bundle_records_unit_and_slice_input(hu_bundle, cohorts, tmp_path):
    inp = load_bundle(hu_bundle).manifest["input"]
    assert inp["unit"] == "HU" and inp["intensity"] == "auto"
    assert inp["slice_input"] == [3, 16, 16] and inp["volume_shape"] == [24, 24, 2]
    png_model = tmp_path / "png"
    assert main(["train", CONFIG, "--route", "cnn7", "--cohort", str(cohorts["png"]),
                 "--out", str(png_model), *TINY]) == 0
    assert load_bundle(png_model).manifest["input"]["unit"] == "display"


def test_scoring_a_png_with_a_hu_bundle_is_an_error_row(hu_bundle, cohorts, tmp_path):
    scores = tmp_path / "scores.csv"
    png_scan = cohorts["png"] / "sub-normal01" / "ct" / "png"
    nifti_scan = next((cohorts["nifti"] / "sub-normal01").rglob("*.nii.gz"))
    dicom_scan = cohorts["dicom"] / "sub-normal01" / "ct" / "dicom"
    assert main(["score", str(hu_bundle), str(png_scan), str(nifti_scan), str(dicom_scan),
                 "--out", str(scores), "--no-progress"]) == 1
    df = pd.read_csv(scores, keep_default_na=False).set_index("file")
    assert df.loc[str(dicom_scan), "status"] == "ok"
    assert df.loc[str(nifti_scan), "status"] == "ok"      # NIfTI CT in HU (air at -1000)
    row = df.loc[str(png_scan)]
    assert row["status"] == "error" and row["predicted"] == ""
    assert row["error"] == ("display grey levels (PNG/JPEG, not HU), but the model was trained "
                            "on Hounsfield units (HU)")


def test_forcing_hu_windows_on_png_is_refused_in_one_line(cohorts, tmp_path, capsys):
    code = main(["compare", CONFIG, "--cohort", str(cohorts["png"]), "--out",
                 str(tmp_path / "run"), "--set", "volume.intensity=hu", *TINY])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "\n" not in err
    assert "holds display grey levels (PNG/JPEG), but volume.intensity is 'hu'" in err
    assert "set volume.intensity: auto" in err


def test_score_a_folder_of_fifo_link_loop_empty_folder_png_and_good_scans(hu_bundle, cohorts,
                                                                          tmp_path):
    """Issue 19, done when: one folder holding a FIFO, a symlink loop, an empty folder, a PNG
    for a HU model and good scans returns in bounded time, one row per input, exit 1."""
    import os
    import shutil
    import subprocess
    import sys

    incoming = tmp_path / "incoming"
    incoming.mkdir()
    os.mkfifo(incoming / "pipe.dcm")
    (incoming / "loop").symlink_to(incoming / "loop")
    (incoming / "empty").mkdir()
    shutil.copytree(cohorts["png"] / "sub-normal01" / "ct" / "png", incoming / "png_scan")
    shutil.copytree(cohorts["dicom"] / "sub-normal01" / "ct" / "dicom", incoming / "good_a")
    shutil.copytree(cohorts["dicom"] / "sub-hemorrhage01" / "ct" / "dicom", incoming / "good_b")
    scores = tmp_path / "scores.csv"
    # A subprocess with a time limit: a hang on the FIFO fails the test instead of the suite.
    proc = subprocess.run([sys.executable, "-m", "neurodx.cli", "score", str(hu_bundle),
                           str(incoming), "--out", str(scores), "--no-progress"],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1, proc.stderr
    df = pd.read_csv(scores, keep_default_na=False)
    status = {Path(f).name: s for f, s in zip(df["file"], df["status"])}
    assert status["good_a"] == status["good_b"] == "ok"
    assert status["png_scan"] == "error"
    assert {k for k, v in status.items() if v == "error"} >= {"pipe.dcm", "loop", "empty"}
    assert len(df) == len(status) == 6
