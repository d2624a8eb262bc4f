"""One MP reference per fold: the LES route learns ``n_eff_`` and its null from the
training subjects, identically through the Python API, ``neurodx compare``,
``neurodx features`` and a trained bundle (issue 13, item 5)."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from neurodx.bundles import load_bundle, load_checked_input
from neurodx.cli import main
from neurodx.config import load_config
from neurodx.evaluation.compare import run_comparison
from neurodx.evaluation.cross_validation import _fit_fold
from neurodx.evaluation.folds import make_folds
from neurodx.study import extract_subject as _extract_subject, \
    first_spectra_step as _spectra_step, load_subject, prepare_study
from neurodx.features import extract_features
from neurodx.rmt import EigenSpectra, make_les_pipeline

REPO = Path(__file__).resolve().parents[2]
BANDS = {"alpha": (8, 13), "beta": (13, 30)}


def _config(tmp_path, cohort):
    path = tmp_path / "les.yaml"
    path.write_text(f"""
study: les_reference
pipeline: {REPO / 'pipelines' / 'hc_fes_chr_eeg.py'}
cohort: {{path: {cohort}, modality: eeg}}
eeg: {{min_duration: 0.0}}
windows: {{length: 2.0, overlap: 0.5, bands: {{alpha: [8, 13], beta: [13, 30]}}}}
routes: {{rmt_les: {{kind: rmt_les, classifier: logreg}}}}
cv: {{scheme: stratified_kfold, n_splits: 2, n_repeats: 1}}
statistics: {{bootstrap: 20, permutations: 2}}
seed: 0
""")
    return load_config(path)


def _api_pipeline():
    # The Python API, written out with the config's settings.
    return make_les_pipeline(bands=BANDS, window=2.0, overlap=0.5, classifier="logreg",
                             random_state=0)


@pytest.fixture
def study(tmp_path, small_eeg_cohort):
    config = _config(tmp_path, small_eeg_cohort)
    prepared = prepare_study(config)
    cohort, context, route = prepared.cohort, prepared.context, prepared.routes[0]
    raws = [load_subject(s.paths, context, prepared.spec) for s in cohort]
    y = np.asarray([s.group for s in cohort], dtype=object)
    return config, prepared, route, raws, y


def test_the_les_step_is_fitted_in_the_fold(study):
    _, _, route, _, _ = study
    assert route.stateless_steps == 1
    assert [name for name, _ in route.cv_estimator.steps][0] == "les"


def test_compare_fold_features_equal_the_python_api(study):
    config, prepared, route, raws, y = study
    cohort, context = prepared.cohort, prepared.context
    # The compare path: spectra once per subject (shared with the report), then the
    # fitted part of the route on each fold's training subjects.
    extracted = [_extract_subject(s.participant_id, s.paths, context, prepared.spec, [route],
                                  _spectra_step([route]))[0][0] for s in cohort]
    folds = make_folds(y, scheme="stratified_kfold", n_splits=2, n_repeats=1, sites=None,
                       seed=0)
    for fold in folds:
        fitted = _fit_fold(route, extracted, y, fold)
        api = _api_pipeline().fit([raws[i] for i in fold.train], y[fold.train])
        test_cli = fitted[:-1].transform([extracted[i] for i in fold.test])
        test_api = api[:-1].transform([raws[i] for i in fold.test])
        np.testing.assert_allclose(test_cli, test_api, rtol=1e-10, atol=1e-10)
        # the reference is the training subjects' median, not each subject's own
        train_n_eff = np.median([extracted[i].n_eff for i in fold.train], axis=0)
        np.testing.assert_allclose(fitted.named_steps["les"].n_eff_, train_n_eff)
        own = np.vstack([clone(api[1:3]).fit_transform([extracted[i]]) for i in fold.test])
        assert not np.allclose(api[1:3].transform([extracted[i] for i in fold.test]), own,
                               atol=1e-3)


def test_compare_predictions_equal_the_python_api(study, tmp_path):
    config, prepared, _, raws, y = study
    res = run_comparison(config, tmp_path / "run")
    pred = pd.read_csv(tmp_path / "run" / "predictions.csv")
    pids = list(prepared.cohort.participant_ids)
    for fold in res.manifest["folds"]:
        test = [pids.index(p) for p in fold["test"]]
        train = [i for i in range(len(pids)) if i not in test]
        api = _api_pipeline().fit([raws[i] for i in train], y[train])
        proba = api.predict_proba([raws[i] for i in test])
        rows = pred[pred["fold"] == fold["fold"]].set_index("participant_id").loc[fold["test"]]
        cols = [f"proba_{c}" for c in api.classes_]
        np.testing.assert_allclose(rows[cols].to_numpy(), proba, rtol=1e-5, atol=1e-6)


def test_features_use_one_reference_fitted_on_the_cohort(study, capsys, tmp_path):
    config, prepared, _, raws, _ = study
    table = extract_features(config, covariance="none", progress=False)
    les = _api_pipeline()[:3].fit(raws)
    expected = les.transform(raws)
    names = list(les[1:].get_feature_names_out())
    np.testing.assert_allclose(table.table[names].to_numpy(float), expected, rtol=1e-10,
                               atol=1e-10)
    spectra = EigenSpectra(bands=BANDS, window=2.0, overlap=0.5).fit_transform(raws)
    n_eff = np.median([s.n_eff for s in spectra], axis=0)
    assert table.reference["fitted_on"] == "cohort" and table.reference["n_subjects"] == 6
    np.testing.assert_allclose(list(table.reference["n_eff"].values()), n_eff)
    assert main(["features", str(prepared.cohort.root), "--config", str(config.path),
                 "--covariance", "none", "--out", str(tmp_path / "f.csv"), "--quiet"]) == 0
    assert "one MP reference fitted on these 6 subjects" in capsys.readouterr().out


def test_a_scored_recording_is_measured_against_the_training_reference(eeg_bundle,
                                                                       small_eeg_cohort):
    bundle = load_bundle(eeg_bundle)
    route = bundle.route
    assert route.stateless_steps == 1
    les = route.estimator.named_steps["les"]
    context = bundle.context()
    prepared = prepare_study(context.config, routes=[route.name])
    raws = [load_subject(s.paths, prepared.context, prepared.spec) for s in prepared.cohort]
    y = np.asarray([s.group for s in prepared.cohort], dtype=object)
    spectra = clone(route.estimator[0]).fit_transform(raws)
    np.testing.assert_allclose(les.n_eff_, np.median([s.n_eff for s in spectra], axis=0))
    # score a training recording: same output as the whole route fitted in Python on
    # the training subjects, and not what a reference fitted on the recording gives
    path = prepared.cohort.subjects[0].paths[0]
    data = load_checked_input(path, bundle)
    api = clone(route.estimator).fit(raws, y)
    scored = bundle.predict(data)
    expected = api.predict_proba([data])[0]
    np.testing.assert_allclose([scored["proba"][c] for c in api.classes_], expected,
                               rtol=1e-10)
    fitted = route.estimator[1:]
    spec = route.estimator[0].fit_transform([data])
    with_training_ref = fitted[:2].transform(spec)
    with_own_ref = clone(fitted[:2]).fit_transform(spec)
    assert not np.allclose(with_training_ref, with_own_ref, atol=1e-3)
