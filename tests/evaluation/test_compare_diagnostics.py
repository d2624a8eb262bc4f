"""CNN diagnostics in the comparison harness: per-fold records, files and report section."""
import json
from pathlib import Path

from neurodx.config import load_config
from neurodx.evaluation.compare import run_comparison
from neurodx.evaluation.cross_validation import _fold_diagnostics
from neurodx.evaluation.folds import make_folds
from neurodx.models import SliceVotingClassifier
from neurodx.simulate import simulate_ct_cohort

ROOT = Path(__file__).parents[2]


def _strict(text):
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def test_diagnostics_are_collected_per_fold_and_reported(tmp_path):
    cohort = simulate_ct_cohort(tmp_path / "ct", ["normal", "hemorrhage"], 4, fmt="nifti",
                                shape=(48, 48, 2), seed=2)
    diag = {"hessian_seconds": 120, "hessian_items": 8, "lanczos_steps": 4, "slq_vectors": 1}
    tiny = {"kind": "cnn", "preset": "ct7", "epochs": 1, "slice_shape": [32, 32]}
    over = {"cohort": {"path": str(cohort)},
            "cv": {"scheme": "holdout", "n_repeats": 2, "test_size": 0.5},
            "statistics": {"bootstrap": 20, "permutations": 0},
            "routes": {"cnn7": {**tiny, "diagnostics": diag}}}
    result = run_comparison(load_config(ROOT / "configs" / "brain_ct.yaml", overrides=over),
                            tmp_path / "run")
    full = _strict((tmp_path / "run" / "diagnostics.json").read_text())
    assert list(full) == ["cnn7"]
    assert [(r["repeat"], r["fold"]) for r in full["cnn7"]] == [(0, 0), (1, 0)]
    summary = result.metrics["routes"]["cnn7"]["diagnostics"]
    assert len(summary) == 2 and len(summary[0]["networks"][0]["alpha"]) == 8   # 7 conv + dense
    h = summary[0]["hessian"]
    assert len(h["top_eigenvalues"]) == 4 or h["stopped_early"]
    assert '"eigenvalues"' not in json.dumps(summary)          # metrics.json stays compact
    report = (tmp_path / "run" / "report.html").read_text()
    assert report.count("What the networks learned, in RMT terms") == 1
    assert "What is not." in report and "<h3>cnn7</h3>" in report


def test_routes_without_the_setting_give_no_record():
    fold = make_folds(["a", "b"] * 4, scheme="stratified_kfold", n_splits=2, n_repeats=1,
                      test_size=None, sites=None, seed=0)[0]
    assert _fold_diagnostics(SliceVotingClassifier(), fold) is None
    fitted = SliceVotingClassifier()
    fitted.diagnostics_ = {"networks": [], "hessian": None}
    assert _fold_diagnostics(fitted, fold) == {"repeat": 0, "fold": 0, "networks": [],
                                               "hessian": None}


def test_permutation_refits_skip_the_diagnostics(monkeypatch):
    import numpy as np

    from neurodx.evaluation.cross_validation import _fit_fold
    from neurodx.study import Route

    seen = []

    def fake_fit(self, X, y):
        seen.append(self.diagnostics)
        return self
    monkeypatch.setattr(SliceVotingClassifier, "fit", fake_fit)
    y = np.array(["a", "b"] * 4)
    fold = make_folds(y, scheme="stratified_kfold", n_splits=2, n_repeats=1, seed=0)[0]
    route = Route("cnn", SliceVotingClassifier(diagnostics={"hessian": False}))
    _fit_fold(route, list(range(8)), y, fold)
    _fit_fold(route, list(range(8)), y, fold, diagnostics=False)
    assert seen == [{"hessian": False}, False]
    assert route.estimator.diagnostics == {"hessian": False}       # the route is untouched
