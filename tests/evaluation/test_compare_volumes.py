"""CNN routes in the comparison harness, on a tiny SYNTHETIC DICOM CT cohort."""
from pathlib import Path

import pandas as pd

from neurodx.config import load_config
from neurodx.evaluation.compare import run_comparison
from neurodx.simulate import simulate_ct_cohort

ROOT = Path(__file__).parents[2]


def test_ct_cnn_route_runs_on_dicom_folders_with_identical_folds(tmp_path):
    # Every subject's series folder has the same name ("dicom"): subjects must be
    # told apart by participant_id, not by file name.
    cohort = simulate_ct_cohort(tmp_path / "ct", ["normal", "hemorrhage"], 5, fmt="dicom",
                                shape=(48, 48, 2), seed=1)
    over = {"cohort": {"path": str(cohort)}, "cv": {"scheme": "holdout", "n_repeats": 2},
            "statistics": {"bootstrap": 50, "permutations": 0},
            "routes": {"cnn7": {"preset": "ct_fast", "epochs": 1, "slice_shape": [32, 32]}}}
    config = load_config(ROOT / "configs" / "brain_ct.yaml", overrides=over)
    result = run_comparison(config, tmp_path / "run")
    pred = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert set(pred["route"]) == {"cnn7"}
    assert len(pred) == 2 * 2                        # 20 % of 10 subjects, twice
    assert {"proba_hemorrhage", "proba_normal"} <= set(pred.columns)
    for (_, _), fold in pred.groupby(["repeat", "fold"]):
        assert set(fold["true"]) == {"normal", "hemorrhage"}    # stratified per class
    assert result.metrics["permutation_test"]["n_permutations"] == 0
    assert (tmp_path / "run" / "report.html").stat().st_size > 10_000
