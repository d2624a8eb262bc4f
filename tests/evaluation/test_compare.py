"""The comparison harness end to end, on a small SYNTHETIC cohort and a minimal study module."""
import json
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from neurodx.config import load_config
from neurodx.errors import CohortError
from neurodx.evaluation.compare import run_comparison

PIPELINE = '''
import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from neurodx.evaluation import Route

FITTED = []

class RecordingScaler(StandardScaler):
    """Records the rows it is fitted on, to prove folds are respected."""
    def fit(self, X, y=None, **kw):
        FITTED.append(np.asarray(X)[:, 0].round(12).tolist())
        return super().fit(X, y, **kw)

def log_variance(raw):
    return np.log(raw.get_data().var(axis=1))

def features():
    return FunctionTransformer(lambda raws: np.vstack([log_variance(r) for r in raws]))

def build_routes(context):
    return [
        Route("logvar_lr", make_pipeline(features(), RecordingScaler(),
                                         LogisticRegression(max_iter=500)),
              stateless_steps=1, description="log-variance per channel + logistic regression"),
        Route("chance", make_pipeline(features(), DummyClassifier(strategy="stratified",
                                                                  random_state=context.seed)),
              stateless_steps=1, description="stratified guessing"),
    ]
'''


@pytest.fixture
def study(tmp_path, small_eeg_cohort):
    (tmp_path / "study.py").write_text(PIPELINE)
    return tmp_path, f"""
study: test_study
pipeline: study.py
cohort: {{path: {small_eeg_cohort}}}
cv: {{scheme: stratified_kfold, n_splits: 2, n_repeats: 2}}
statistics: {{bootstrap: 50, permutations: 5}}
seed: 3
"""


def _config(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return load_config(path, allow_code=True)   # the study module is the test's own code


def test_outputs_and_identical_folds(study):
    tmp, text = study
    res = run_comparison(_config(tmp, text), tmp / "run")
    pred = pd.read_csv(tmp / "run" / "predictions.csv")
    assert list(pred.columns[:6]) == ["participant_id", "repeat", "fold", "route", "true",
                                      "predicted"]
    assert {"proba_HC", "proba_FES", "proba_CHR"} <= set(pred.columns)
    # identical folds across routes
    keys = {r: set(map(tuple, g[["participant_id", "repeat", "fold"]].to_numpy()))
            for r, g in pred.groupby("route")}
    assert keys["logvar_lr"] == keys["chance"]
    # every subject tested once per repeat
    assert (pred.groupby(["route", "repeat"])["participant_id"].nunique() == 6).all()
    def strict(constant):
        raise ValueError(f"{constant} is not JSON")

    # Strict JSON: a route at chance has undefined statistics; they are null, not NaN.
    metrics = json.loads((tmp / "run" / "metrics.json").read_text(), parse_constant=strict)
    json.loads((tmp / "run" / "manifest.json").read_text(), parse_constant=strict)
    assert metrics["synthetic_data"] is True
    assert set(metrics["routes"]) == {"logvar_lr", "chance"}
    manifest = json.loads((tmp / "run" / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["config_sha256"]
    assert len(manifest["inputs_sha256"]) == 7  # participants.tsv + 6 EDF files
    assert manifest["versions"]["mne"] and manifest["finished"]
    # thread counts, on which a CNN's float rounding (and so its training) can depend
    threads = manifest["platform"]["threads"]
    assert threads["torch_intra_op"] is None or threads["torch_intra_op"] >= 1
    assert all(n >= 1 for _, n in threads["blas"]) and threads["blas"]
    assert res.report.is_file()


def test_scalers_are_fitted_on_training_subjects_only(study):
    tmp, text = study
    res = run_comparison(_config(tmp, text), tmp / "run")
    scaler = res.routes[0].estimator.steps[1][1]  # the template; CV fitted clones of it
    fitted = type(scaler).fit.__globals__["FITTED"]
    folds = res.manifest["folds"]
    # the first len(folds) fits are the CV fits, in fold order; each saw n - n_test rows
    assert [len(rows) for rows in fitted[:len(folds)]] == [6 - len(f["test"]) for f in folds]
    # 2-fold CV: fold 1 trains on fold 0's test subjects, so the two fits of a repeat
    # share no subject exactly when no test subject leaked into its own fold's fit.
    for r in range(2):
        a, b = fitted[2 * r], fitted[2 * r + 1]
        assert not set(a) & set(b) and len(set(a) | set(b)) == 6


def test_same_config_and_seed_give_identical_predictions(study):
    tmp, text = study
    run_comparison(_config(tmp, text), tmp / "a")
    run_comparison(_config(tmp, text), tmp / "b")
    assert (tmp / "a" / "predictions.csv").read_bytes() == (tmp / "b" / "predictions.csv").read_bytes()


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.tables, self.text = 0, 0, []

    def handle_starttag(self, tag, attrs):
        if tag == "img" and dict(attrs)["src"].startswith("data:image/png;base64,"):
            self.images += 1
        self.tables += tag == "table"

    def handle_data(self, data):
        self.text.append(data)


def test_report_renders_with_tables_and_images(study):
    tmp, text = study
    res = run_comparison(_config(tmp, text), tmp / "run")
    parser = _Parser()
    parser.feed(res.report.read_text())
    body = " ".join(parser.text)
    assert parser.images >= 2 and parser.tables >= 3
    assert "SYNTHETIC DATA" in body and "logvar_lr" in body and "average" in body
    assert "Small cohort: the smallest class has 2 subject(s)" in body


def test_cohort_errors_stop_the_study_unless_skip_bad(study, eeg_cohort_copy):
    tmp, text = study
    c = eeg_cohort_copy
    edf = c / "sub-HC01/eeg/sub-HC01_task-rest_eeg.edf"
    edf.write_bytes(edf.read_bytes()[:5000])
    # a sixth, valid HC subject keeps two per group for 2-fold CV once sub-HC01 is left out
    # (a copy: one file listed for two participants would exclude both)
    copy = c / "sub-HC03/eeg/sub-HC03_task-rest_eeg.edf"
    copy.parent.mkdir(parents=True)
    copy.write_bytes((c / "sub-HC02/eeg/sub-HC02_task-rest_eeg.edf").read_bytes())
    with open(c / "participants.tsv", "a") as fh:
        fh.write("sub-HC03\tHC\tsite1\t30\tF\tyes\tsub-HC03/eeg/sub-HC03_task-rest_eeg.edf\n")
    cfg = _config(tmp, text)
    cfg.data["cohort"]["path"] = str(c)
    with pytest.raises(CohortError, match="sub-HC01 .*unreadable .edf file"):
        run_comparison(cfg, tmp / "run")
    cfg.data["cohort"]["skip_bad"] = True
    res = run_comparison(cfg, tmp / "run")
    assert "sub-HC01" not in set(res.predictions["participant_id"])
    assert any(e.startswith("ERROR: sub-HC01") for e in res.metrics["excluded_subjects"])
    assert "sub-HC01" in (tmp / "run" / "report.html").read_text()


def test_shuffled_labels_give_chance_within_the_ci(tmp_path):
    # The same region cohort, with its labels (a) as simulated and (b) shuffled: the
    # tangent-space baseline must separate (a) and fall to chance on (b). Leakage of
    # any test subject into fitting would keep (b) above chance.
    from pathlib import Path

    from neurodx.simulate import simulate_region_cohort

    cohort = simulate_region_cohort(tmp_path / "regions", ["HC", "SZ"], 12, n_regions=12,
                                    n_times=150, seed=5)
    config_file = Path(__file__).parents[2] / "configs" / "region_timeseries.yaml"
    over = {"cv": {"n_splits": 3, "n_repeats": 2},
            "statistics": {"bootstrap": 300, "permutations": 0}}
    real = run_comparison(load_config(config_file, overrides={**over, "cohort": {
        "path": str(cohort)}}), tmp_path / "real", routes=["tangent_space"])
    table = pd.read_csv(cohort / "participants.tsv", sep="\t")
    table["group"] = np.random.default_rng(0).permutation(table["group"].to_numpy())
    table.to_csv(cohort / "participants.tsv", sep="\t", index=False)
    null = run_comparison(load_config(config_file, overrides={**over, "cohort": {
        "path": str(cohort)}}), tmp_path / "null", routes=["tangent_space"])
    assert real.metrics["routes"]["tangent_space"]["ci"]["balanced_accuracy"][0] > 0.5
    lo, hi = null.metrics["routes"]["tangent_space"]["ci"]["balanced_accuracy"]
    assert lo <= 0.5 <= hi


def test_permutation_route_left_out_by_routes_falls_back_to_best(study, capsys):
    tmp_path, text = study
    text = text.replace("permutations: 5}", "permutations: 5, permutation_route: chance}")
    out = tmp_path / "run_subset"
    run_comparison(_config(tmp_path, text), out, routes=["logvar_lr"])
    assert "permutation_route 'chance' is not in this run" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["permutation_test"]["route"] == "logvar_lr"


def test_permutation_route_not_in_the_run_is_refused(study):
    from neurodx.errors import ConfigError

    tmp_path, text = study
    text = text.replace("permutations: 5}", "permutations: 5, permutation_route: nope}")
    with pytest.raises(ConfigError, match="permutation_route: 'nope'"):
        run_comparison(_config(tmp_path, text), tmp_path / "run_bad")
