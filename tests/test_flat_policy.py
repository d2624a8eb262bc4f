"""flat_policy end to end: compare, train and score on cohorts with flat regions / channels."""
import json
import shutil
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import pytest

from neurodx.bundles import load_bundle, load_checked_input, train_route
from neurodx.cli import main
from neurodx.config import load_config
from neurodx.errors import ConfigError, RecordingError
from neurodx.study import load_subject, prepare_cohort
from neurodx.simulate import simulate_eeg_cohort, simulate_eeg_raw, simulate_region_cohort

CONFIGS = Path(__file__).parents[1] / "configs"
FAST = ["--set", "cv.n_splits=3", "--set", "cv.n_repeats=1", "--set", "statistics.bootstrap=50",
        "--set", "statistics.permutations=0"]
FLAT = {"sub-HC02": "roi004", "sub-SZ03": "roi012"}   # one zero-variance column each


def _table(cohort, pid):
    return cohort / pid / "func" / f"{pid}_task-rest_timeseries.tsv"


@pytest.fixture(scope="module")
def region_cohort(tmp_path_factory):
    """SYNTHETIC: 12 subjects x 20 regions; 2 of them with one constant region."""
    cohort = simulate_region_cohort(tmp_path_factory.mktemp("flat") / "regions", ["HC", "SZ"],
                                    6, n_regions=20, n_times=120, seed=3)
    for pid, region in FLAT.items():
        df = pd.read_csv(_table(cohort, pid), sep="\t")
        df[region] = 812.0
        df.to_csv(_table(cohort, pid), sep="\t", index=False, float_format="%.3f")
    return cohort


def _compare(config, cohort, run, policy, *extra):
    return main(["compare", str(CONFIGS / config), "--cohort", str(cohort), "--out", str(run),
                 "--set", f"{'eeg' if 'eeg' in config else 'regions'}.flat_policy={policy}",
                 *FAST, *extra])


def test_region_study_runs_with_drop_and_says_what_was_dropped(region_cohort, tmp_path, capsys):
    run = tmp_path / "run"
    assert _compare("region_timeseries.yaml", region_cohort, run, "drop",
                    "--routes", "rmt_les", "rmt_tangent") == 0
    assert ("2 region(s) dropped for being flat in 2 subject(s): roi004 (sub-HC02), "
            "roi012 (sub-SZ03)") in capsys.readouterr().out
    expected = {"roi004": ["sub-HC02"], "roi012": ["sub-SZ03"]}
    manifest = json.loads((run / "manifest.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    assert manifest["flat_dropped"] == expected and metrics["flat_dropped"] == expected
    assert metrics["n_subjects"] == 12 and metrics["excluded_subjects"] == []
    assert set(metrics["routes"]) == {"rmt_les", "rmt_tangent"}
    report = (run / "report.html").read_text()
    assert ("2 region(s) dropped for being flat in 2 subject(s): roi004 (sub-HC02), "
            "roi012 (sub-SZ03)") in report
    # Exactly those two columns leave every subject, flat or not.
    config = load_config(CONFIGS / "region_timeseries.yaml", overrides={
        "cohort": {"path": str(region_cohort)}, "regions": {"flat_policy": "drop"}})
    cohort, _, spec, context = prepare_cohort(config)
    names = list(pd.read_csv(_table(region_cohort, "sub-HC01"), sep="\t").columns)
    assert [names[i] for i in context.region_columns] == [n for n in names
                                                          if n not in ("roi004", "roi012")]
    subject = cohort.subjects[0]
    data = load_subject(subject.paths, context, spec)
    table = pd.read_csv(subject.paths[0], sep="\t").drop(columns=["roi004", "roi012"])
    assert np.array_equal(data, table.to_numpy().T)


def test_region_study_with_skip_subject_leaves_the_two_out(region_cohort, tmp_path):
    run = tmp_path / "run"
    assert _compare("region_timeseries.yaml", region_cohort, run, "skip_subject",
                    "--routes", "rmt_les") == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_subjects"] == 10 and metrics["flat_dropped"] == {}
    left_out = sorted(p.split(": ")[1].split()[0] for p in metrics["excluded_subjects"])
    assert left_out == sorted(FLAT)
    predicted = set(pd.read_csv(run / "predictions.csv")["participant_id"])
    assert not predicted & set(FLAT) and len(predicted) == 10
    assert "SKIPPED: sub-HC02" in (run / "report.html").read_text()


def test_region_study_refuses_by_default_naming_the_setting(region_cohort, tmp_path, capsys):
    assert _compare("region_timeseries.yaml", region_cohort, tmp_path / "run", "refuse") == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "flat region(s) (1): roi004" in err and "--set regions.flat_policy=drop" in err


def test_features_follow_the_policy(region_cohort, tmp_path, capsys):
    def features(policy):
        out = tmp_path / f"{policy}.csv"
        code = main(["features", str(region_cohort), "--out", str(out), "--config",
                     str(CONFIGS / "region_timeseries.yaml"), "--quiet",
                     "--set", f"regions.flat_policy={policy}"])
        return code, pd.read_csv(out), capsys.readouterr().err

    code, table, _ = features("drop")
    assert code == 0 and len(table) == 12
    assert len([c for c in table.columns if "_logcov_" in c]) == 18 * 19 // 2
    code, table, err = features("skip_subject")
    assert code == 0 and sorted(set(FLAT) & set(table["participant_id"])) == []
    assert len(table) == 10 and "SKIPPED: sub-HC02" in err


def test_a_bad_policy_in_the_config_names_the_key_and_the_choices():
    with pytest.raises(ConfigError, match=r"regions\.flat_policy: expected one of refuse, drop, "
                                          "skip_subject, got 'ignore'"):
        load_config(text="regions: {flat_policy: ignore}")


def test_a_region_bundle_drops_the_same_columns_at_scoring(region_cohort, tmp_path):
    config = load_config(CONFIGS / "region_timeseries.yaml", overrides={
        "cohort": {"path": str(region_cohort)}, "regions": {"flat_policy": "drop"}})
    bundle = train_route(config, "rmt_les", tmp_path / "model")
    inp = bundle.manifest["input"]
    assert inp["flat_dropped"] == ["roi004", "roi012"] and inp["n_regions"] == 20
    assert len(inp["region_columns"]) == 18
    bundle = load_bundle(tmp_path / "model")
    flat_dropped = load_checked_input(_table(region_cohort, "sub-HC02"), bundle)
    assert flat_dropped.shape == (18, 120)
    assert bundle.predict(flat_dropped)["predicted"] in ("HC", "SZ")
    used = tmp_path / "used.tsv"
    df = pd.read_csv(_table(region_cohort, "sub-HC01"), sep="\t")
    df["roi007"] = 1.0
    df.to_csv(used, sep="\t", index=False)
    with pytest.raises(RecordingError, match="flat region.*the model uses: roi007"):
        load_checked_input(used, bundle)


@pytest.fixture(scope="module")
def eeg_cohort(tmp_path_factory):
    """SYNTHETIC: 2 groups x 4 subjects, 16 channels; one subject with a flat channel."""
    cohort = simulate_eeg_cohort(tmp_path_factory.mktemp("flat") / "eeg", ["CTRL", "PAT"], 4,
                                 channels=16, sfreq=128.0, duration=24.0, seed=4)
    raw = mne.io.read_raw_edf(cohort / "sub-PAT02/eeg/sub-PAT02_task-rest_eeg.edf",
                              preload=True, verbose="ERROR")
    raw._data[3] = 0.0
    mne.export.export_raw(cohort / "sub-PAT02/eeg/sub-PAT02_task-rest_eeg.edf", raw,
                          fmt="edf", overwrite=True, verbose="ERROR")
    return cohort, raw.ch_names[3]


def test_eeg_study_under_each_policy(eeg_cohort, tmp_path, capsys):
    cohort, flat = eeg_cohort
    args = ("hc_fes_chr_eeg.yaml", cohort)
    route = ["--routes", "rmt_les", "--set", "cv.scheme=stratified_kfold", "--set", "cv.n_splits=2"]
    assert _compare(*args, tmp_path / "refuse", "refuse", *route) == 2
    assert f"flat channel(s) (1): {flat}; eeg.flat_policy" in capsys.readouterr().err
    assert _compare(*args, tmp_path / "drop", "drop", *route) == 0
    assert f"1 channel(s) dropped for being flat in 1 subject(s): {flat}" in \
        capsys.readouterr().out
    manifest = json.loads((tmp_path / "drop" / "manifest.json").read_text())
    assert manifest["flat_dropped"] == {flat: ["sub-PAT02"]}
    assert len(manifest["channel_names"]) == 15 and flat not in manifest["channel_names"]
    assert (f"1 channel(s) dropped for being flat in 1 subject(s): {flat} (sub-PAT02)"
            in (tmp_path / "drop" / "report.html").read_text())
    assert _compare(*args, tmp_path / "skip", "skip_subject", *route) == 0
    metrics = json.loads((tmp_path / "skip" / "metrics.json").read_text())
    assert metrics["n_subjects"] == 7 and len(metrics["excluded_subjects"]) == 1


def test_an_eeg_bundle_drops_the_same_channels_at_scoring(eeg_cohort, tmp_path):
    cohort, flat = eeg_cohort
    config = load_config(CONFIGS / "hc_fes_chr_eeg.yaml", overrides={
        "cohort": {"path": str(cohort)}, "eeg": {"flat_policy": "drop"}})
    bundle = train_route(config, "rmt_les", tmp_path / "model")
    inp = bundle.manifest["input"]
    assert inp["flat_dropped"] == [flat] and flat not in inp["channel_names"]
    raw = load_checked_input(cohort / "sub-PAT02/eeg/sub-PAT02_task-rest_eeg.edf", bundle)
    assert raw.ch_names == inp["channel_names"]
    other = simulate_eeg_raw("HC", n_channels=16, sfreq=128.0, duration=24.0, seed=9)
    used = inp["channel_names"][0]
    other._data[other.ch_names.index(used)] = 0.0
    mne.export.export_raw(tmp_path / "used.edf", other, fmt="edf", verbose="ERROR")
    with pytest.raises(RecordingError, match=f"flat channel.*the model uses: {used}"):
        load_checked_input(tmp_path / "used.edf", bundle)
    shutil.rmtree(tmp_path / "model")
