"""Region time series from 4-D runs: atlas, per-fold parcellation, no test subject in a fit."""
import numpy as np
import pandas as pd
import pytest

from neurodx.config import load_config
from neurodx.errors import ConfigError
from neurodx.evaluation.compare import run_comparison
from neurodx.preprocessing import regions_from_volume as rfv
from neurodx.preprocessing.regions_from_volume import RegionsFromVolume
from neurodx.simulate.fmri import simulate_fmri_cohort

CONFIG = __import__("pathlib").Path(__file__).parents[2] / "configs" / "meth_fmri.yaml"


@pytest.fixture(scope="module")
def fmri_cohort(tmp_path_factory):
    # SYNTHETIC: 4 subjects per group, 40 frames of a coarse grid (seconds to write)
    root = tmp_path_factory.mktemp("fmri") / "cohort"
    simulate_fmri_cohort(root, ("HC", "MA"), 4, shape=(32, 32, 16), frames=40,
                         voxel_size=(7.5, 7.5, 7.75), seed=7, background_noise=0, quantum=4)
    table = pd.read_csv(root / "participants.tsv", sep="\t")
    return root, [str(root / p) for p in table["path"]], table["group"].tolist()


def test_atlas_series_are_cleaned_region_signals(fmri_cohort):
    root, paths, groups = fmri_cohort
    step = RegionsFromVolume(atlas=root / "atlas.nii.gz").fit(paths[:2])
    assert step.fitted_paths_ == () and step.n_regions_ == 12
    series = step.transform([("sub-x", p) for p in paths])
    assert all(s.shape == (12, 40) for s in series)
    np.testing.assert_allclose(series[0].mean(axis=1), 0, atol=1e-8)      # z-scored
    np.testing.assert_allclose(series[0].std(axis=1, ddof=1), 1, atol=1e-6)


def test_parcellation_is_fitted_on_the_given_runs_only(fmri_cohort):
    _, paths, _ = fmri_cohort
    step = RegionsFromVolume(method="ward", n_parcels=6).fit(paths[:5])
    assert step.fitted_paths_ == tuple(paths[:5])
    assert 2 <= step.n_regions_ <= 6
    out = step.transform(paths[5:])
    assert [s.shape for s in out] == [(step.n_regions_, 40)] * 3


def test_bad_atlas_and_settings_name_the_config_key(tmp_path, fmri_cohort):
    _, paths, _ = fmri_cohort
    with pytest.raises(ConfigError, match="volume.atlas"):
        RegionsFromVolume(atlas=tmp_path / "missing.nii.gz").fit(paths)
    with pytest.raises(ConfigError, match="volume.n_parcels"):
        RegionsFromVolume(n_parcels=1).fit(paths)
    with pytest.raises(ConfigError, match="volume.parcellation"):
        RegionsFromVolume(method="magic").fit(paths)


def test_compare_fits_each_parcellation_on_training_subjects_only(fmri_cohort, tmp_path,
                                                                  monkeypatch):
    root, paths, _ = fmri_cohort
    fitted = []
    original = RegionsFromVolume._fit_parcellation

    def spy(self, run_paths):
        fitted.append(frozenset(run_paths))
        return original(self, run_paths)

    monkeypatch.setattr(RegionsFromVolume, "_fit_parcellation", spy)
    monkeypatch.setattr(rfv, "_PARCELLATIONS", {})
    cfg = load_config(CONFIG, overrides={
        "cohort": {"path": str(root)}, "volume": {"n_parcels": 6},
        "windows": {"length": 20}, "cv": {"n_repeats": 2, "test_size": 0.25},
        "statistics": {"permutations": 0, "bootstrap": 20}})
    result = run_comparison(cfg, tmp_path / "run", routes=["rmt_les", "tangent_space"])
    assert set(result.predictions["route"]) == {"rmt_les", "tangent_space"}
    table = pd.read_csv(root / "participants.tsv", sep="\t")
    by_id = dict(zip(table["participant_id"], paths))
    folds = result.manifest["folds"]
    assert len(fitted) == 2 * len(folds)                   # per route and fold, in the fold
    for fold in folds:
        test = {by_id[pid] for pid in fold["test"]}
        train = frozenset(set(paths) - test)
        assert train in fitted                              # exactly the training runs
    for f in fitted:                                        # never a test subject
        assert any(f == frozenset(set(paths) - {by_id[p] for p in fold["test"]})
                   for fold in folds)


def test_compare_with_atlas_runs_both_families_on_the_same_folds(fmri_cohort, tmp_path):
    root, _, _ = fmri_cohort
    cfg = load_config(CONFIG, overrides={
        "cohort": {"path": str(root)}, "volume": {"atlas": str(root / "atlas.nii.gz")},
        "windows": {"length": 20},
        "routes": {"per_slice_cnn": {"preset": "fmri_ma_fast", "frame_stride": 20,
                                     "epochs": 1}},
        "cv": {"n_repeats": 1, "test_size": 0.25}, "statistics": {"permutations": 0, "bootstrap": 20}})
    result = run_comparison(cfg, tmp_path / "run",
                            routes=["per_slice_cnn", "rmt_les", "rmt_tangent"])
    preds = result.predictions
    per_route = {r: sorted(zip(g["participant_id"], g["repeat"], g["fold"]))
                 for r, g in preds.groupby("route")}
    assert per_route["rmt_les"] == per_route["per_slice_cnn"] == per_route["rmt_tangent"]
    html = result.report.read_text()
    assert "time points" in html and "msr_l1" in html


def test_a_trained_parcellation_route_is_stored_and_scores(fmri_cohort, tmp_path):
    from neurodx.cli import main

    root, paths, _ = fmri_cohort
    bundle = tmp_path / "bundle"
    assert main(["train", str(CONFIG), "--route", "tangent_space", "--cohort", str(root),
                 "--out", str(bundle), "--set", "volume.n_parcels=6"]) == 0
    out = tmp_path / "scores.csv"
    assert main(["score", str(bundle), paths[0], paths[-1], "--out", str(out),
                 "--no-progress"]) == 0
    scores = pd.read_csv(out)
    assert list(scores["status"]) == ["ok", "ok"]


def test_a_trained_atlas_route_keeps_its_atlas_and_scores_a_folder(fmri_cohort, tmp_path):
    import shutil

    from neurodx.cli import main

    root, paths, _ = fmri_cohort
    atlas = tmp_path / "atlas.nii.gz"
    shutil.copy(root / "atlas.nii.gz", atlas)
    bundle = tmp_path / "bundle"
    assert main(["train", str(CONFIG), "--route", "rmt_tangent", "--cohort", str(root),
                 "--out", str(bundle), "--set", f"volume.atlas={atlas}",
                 "--set", "windows.length=20"]) == 0
    atlas.unlink()                 # scoring needs no atlas file: its labels are in the bundle
    runs = tmp_path / "runs"
    runs.mkdir()
    for p in (paths[0], paths[-1]):
        shutil.copy(p, runs / p.rsplit("/", 1)[-1])
    out = tmp_path / "scores.csv"
    assert main(["score", str(bundle), str(runs), "--out", str(out), "--no-progress"]) == 0
    scores = pd.read_csv(out)
    assert list(scores["status"]) == ["ok", "ok"]


def test_compare_on_another_grid_and_tr_with_and_without_an_atlas(tmp_path):
    import json

    from neurodx.cli import main
    from neurodx.simulate.fmri import ground_truth_atlas

    # SYNTHETIC: another grid (24 x 28 x 12) and TR (1.5 s) than the sample; the atlas is
    # on the sample's grid, so nilearn resamples it to the runs
    root = tmp_path / "cohort"
    simulate_fmri_cohort(root, ("HC", "MA"), 4, shape=(24, 28, 12), frames=40, tr=1.5,
                         voxel_size=(10.0, 240 / 28, 124 / 12), seed=3, background_noise=0,
                         quantum=4)
    atlas = tmp_path / "atlas_other_grid.nii.gz"
    ground_truth_atlas((32, 32, 16), (7.5, 7.5, 7.75)).to_filename(atlas)
    common = ["--set", "windows.length=20", "--set", "cv.n_repeats=1",
              "--set", "cv.test_size=0.25", "--set", "statistics.bootstrap=20", "-q"]
    for name, extra in (("atlas", ["--set", f"volume.atlas={atlas}"]),
                        ("parcellation", ["--set", "volume.n_parcels=6"])):
        out = tmp_path / name
        assert main(["compare", str(CONFIG), "--cohort", str(root), "--out", str(out),
                     "--routes", "rmt_les", "tangent_space", *common, *extra]) == 0
        preds = pd.read_csv(out / "predictions.csv")
        assert set(preds["route"]) == {"rmt_les", "tangent_space"}
        assert preds.groupby("route").size().tolist() == [2, 2]      # same test subjects
        manifest = json.loads((out / "manifest.json").read_text())
        text = json.dumps(manifest) + (out / "report.html").read_text()
        assert "20 time points = 30 s at TR 1.5 s" in text


def test_features_of_4d_runs_use_the_atlas_and_carry_the_ring_law(fmri_cohort):
    from neurodx.features import extract_features

    root, _, _ = fmri_cohort
    base = {"cohort": {"path": str(root)}, "windows": {"length": 20}}
    with pytest.raises(ConfigError, match="volume.atlas"):
        extract_features(load_config(CONFIG, overrides=base), progress=False)
    cfg = load_config(CONFIG, overrides={**base, "volume": {"atlas": str(root / "atlas.nii.gz")}})
    table = extract_features(cfg, covariance="none", progress=False).table
    assert len(table) == 8
    assert {"broadband_msr_l1_mean", "broadband_msr_l5_mean"} <= set(table.columns)
