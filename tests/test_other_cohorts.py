"""Shipped configs run on cohorts other than sample_data: other labels, counts and sites."""
import json
from pathlib import Path

import pandas as pd

from neurodx.cli import main
from neurodx.simulate import simulate_eeg_cohort, simulate_region_cohort

CONFIGS = Path(__file__).parents[1] / "configs"


def test_eeg_config_on_a_16_channel_two_site_cohort_with_other_labels(tmp_path, capsys):
    cohort = simulate_eeg_cohort(tmp_path / "eeg", ["CTRL", "PAT"], 4, channels=16,
                                 sfreq=128.0, duration=24.0, sites=2, seed=4)
    run = tmp_path / "run"
    assert main(["compare", str(CONFIGS / "hc_fes_chr_eeg.yaml"), "--cohort", str(cohort),
                 "--out", str(run), "--routes", "rmt_les", "tangent_space",
                 "--set", "cv.scheme=leave_one_site_out", "--set", "statistics.bootstrap=50",
                 "--set", "statistics.permutations=0"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["classes"] == ["CTRL", "PAT"] and metrics["cv"]["n_folds_total"] == 2
    pred = pd.read_csv(run / "predictions.csv")
    assert {"proba_CTRL", "proba_PAT"} <= set(pred.columns)
    manifest = json.loads((run / "manifest.json").read_text())
    assert len(manifest["inputs_sha256"]) >= 8
    assert "CTRL" in capsys.readouterr().out


def test_region_config_on_a_three_group_cohort_with_20_regions(tmp_path):
    cohort = simulate_region_cohort(tmp_path / "regions", ["A", "B", "C"], 6, n_regions=20,
                                    n_times=150, sites=2, seed=2)
    run = tmp_path / "run"
    assert main(["compare", str(CONFIGS / "region_timeseries.yaml"), "--cohort", str(cohort),
                 "--out", str(run), "--set", "cv.n_splits=2", "--set", "cv.n_repeats=1",
                 "--set", "statistics.bootstrap=50", "--set", "statistics.permutations=0",
                 "--routes", "rmt_les", "rmt_tangent"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["classes"] == ["A", "B", "C"]
    assert set(metrics["routes"]) == {"rmt_les", "rmt_tangent"}
    assert (run / "report.html").exists()


def test_nested_cv_with_too_few_subjects_is_a_clear_error(tmp_path, capsys):
    cohort = simulate_region_cohort(tmp_path / "regions", ["A", "B"], 3, n_regions=10,
                                    n_times=120, seed=2)
    assert main(["compare", str(CONFIGS / "region_timeseries.yaml"), "--cohort", str(cohort),
                 "--out", str(tmp_path / "run"), "--routes", "tangent_space",
                 "--set", "cv.n_splits=3", "--set", "statistics.permutations=0"]) == 2
    assert "nested CV needs at least inner_splits=3" in capsys.readouterr().err


def test_eeg_cnn_of_the_shipped_config_runs_on_a_256_hz_cohort(tmp_path):
    # The preset's network works at 250 Hz: the route resamples each 256-Hz recording.
    # Only the network's size and the run's length are overridden, never the rate.
    cohort = simulate_eeg_cohort(tmp_path / "eeg", ["HC", "SZ"], 4, channels=16,
                                 sfreq=256.0, duration=12.0, seed=5)
    run = tmp_path / "run"
    small = ["n_filters_time=4", "n_filters_spat=4", "block_filters=[4,4,4,4]", "epochs=1",
             "progress=false", "num_threads=1"]
    assert main(["compare", str(CONFIGS / "hc_fes_chr_eeg.yaml"), "--cohort", str(cohort),
                 "--out", str(run), "--routes", "eeg_cnn", "--set", "eeg.min_duration=10",
                 "--set", "cv.n_repeats=1", "--set", "statistics.bootstrap=20",
                 "--set", "statistics.permutations=0",
                 *[a for s in small for a in ("--set", f"routes.eeg_cnn.{s}")]]) == 0
    pred = pd.read_csv(run / "predictions.csv")
    assert len(pred) == 2 and set(pred["route"]) == {"eeg_cnn"}       # 25 % of 8 subjects
    assert sorted(pred["true"]) == ["HC", "SZ"]                      # one per class
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["config"]["cv"]["scheme"] == "holdout"
