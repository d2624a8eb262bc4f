"""On the committed SYNTHETIC sample cohort, the LES route beats chance under subject-level CV.

Not a performance claim (the simulator's effect size is arbitrary, and it was not tuned
for this test): a check that the RMT stage carries group information end to end, from
EDF files through the comparison harness, without leakage (a permutation test with
the same folds is the reference).
"""
from pathlib import Path

from neurodx.config import load_config
from neurodx.evaluation.compare import run_comparison

ROOT = Path(__file__).parents[2]


def test_les_route_separates_sample_groups_better_than_chance(tmp_path):
    over = {"cv": {"scheme": "stratified_kfold", "n_splits": 5, "n_repeats": 1},
            "statistics": {"bootstrap": 200, "permutations": 19}}
    config = load_config(ROOT / "configs" / "hc_fes_chr_eeg.yaml", overrides=over)
    result = run_comparison(config, tmp_path / "run", routes=["rmt_les"])
    m = result.metrics
    chance = 1 / len(m["classes"])
    assert m["synthetic_data"] is True
    assert m["routes"]["rmt_les"]["balanced_accuracy"] > chance
    perm = m["permutation_test"]
    assert perm["route"] == "rmt_les" and perm["null_mean"] < perm["observed"]
    assert perm["p_value"] <= 0.1          # beats at least 18 of 19 label permutations
