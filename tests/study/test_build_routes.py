"""The default routes of a config: no pipeline file needed, and one reading of ``windows``."""
from pathlib import Path

import pytest

from neurodx.config import load_config
from neurodx.errors import ConfigError
from neurodx.study import build_routes, load_pipeline, prepare_study

REPO = Path(__file__).resolve().parents[2]
EEG_CONFIG = REPO / "configs" / "hc_fes_chr_eeg.yaml"


def _without_pipeline(cohort, routes: str, windows: str = "") -> str:
    return (f"study: no_pipeline\ncohort:\n  path: {cohort}\n  modality: eeg\n"
            f"eeg:\n  min_duration: 0.0\n{windows}routes:\n{routes}")


def _spectra(route):
    return route.estimator.steps[0][1]


def test_a_config_without_pipeline_gets_the_routes_of_its_routes_section(small_eeg_cohort):
    text = _without_pipeline(small_eeg_cohort,
                             "  les: {kind: rmt_les, classifier: logreg}\n"
                             "  ts: {kind: tangent_space, estimator: oas}\n")
    config = load_config(text=text)
    assert config["pipeline"] is None
    study = prepare_study(config)
    assert study.pipeline is None
    assert [r.name for r in study.routes] == ["les", "ts"]
    assert study.routes[0].stateless_steps == 1 and study.routes[1].stateless_steps == 1


def test_windows_reach_every_route_that_windows_unless_the_route_sets_its_own(
        small_eeg_cohort):
    windows = "windows:\n  length: 3.0\n  overlap: 0.25\n"
    text = _without_pipeline(small_eeg_cohort,
                             "  les: {kind: rmt_les}\n"
                             "  tangent: {kind: rmt_tangent}\n"
                             "  ts: {kind: tangent_space}\n"
                             "  own: {kind: tangent_space, window: 1.5, overlap: 0.0}\n",
                             windows)
    routes = {r.name: r for r in prepare_study(load_config(text=text)).routes}
    for name in ("les", "tangent", "ts"):
        assert (_spectra(routes[name]).window, _spectra(routes[name]).overlap) == (3.0, 0.25)
    assert (_spectra(routes["own"]).window, _spectra(routes["own"]).overlap) == (1.5, 0.0)


def test_a_window_cnn_takes_windows_or_says_preset(small_eeg_cohort):
    windows = "windows:\n  length: 3.0\n  overlap: 0.25\n"
    text = _without_pipeline(small_eeg_cohort,
                             "  study_windows: {kind: cnn, preset: eeg_fast}\n"
                             "  own: {kind: cnn, preset: eeg_fast, window: preset, "
                             "overlap: preset}\n", windows)
    routes = {r.name: r.estimator for r in prepare_study(load_config(text=text)).routes}
    assert (routes["study_windows"].window, routes["study_windows"].overlap) == (3.0, 0.25)
    assert (routes["own"].window, routes["own"].overlap) == (2.0, 0.5)    # eeg_fast's


def test_an_unknown_route_kind_names_the_route_and_the_known_kinds(small_eeg_cohort):
    config = load_config(text=_without_pipeline(small_eeg_cohort,
                                                "  net: {kind: nope}\n"))
    with pytest.raises(ConfigError, match=r"^routes\.net: unknown kind 'nope' .*rmt_les.*cnn"):
        prepare_study(config)


def test_the_shipped_eeg_config_states_the_windows_its_routes_use(small_eeg_cohort):
    config = load_config(EEG_CONFIG, overrides={"cohort": {"path": str(small_eeg_cohort)},
                                                "eeg": {"min_duration": 0.0}})
    routes = {r.name: r for r in prepare_study(config).routes}
    assert config["windows"]["length"] == 2.0 and config["windows"]["overlap"] == 0.5
    assert _spectra(routes["rmt_les"]).overlap == 0.5
    for name in ("rmt_tangent", "tangent_space", "rmt_les_relative"):
        assert _spectra(routes[name]).window == 2.0 and _spectra(routes[name]).overlap == 0.0
    # the CNN keeps its preset's windows, as the config says (window: preset)
    assert (routes["eeg_cnn"].estimator.window, routes["eeg_cnn"].estimator.overlap) == (4.0, 0.5)


@pytest.mark.parametrize("study", ["hc_fes_chr_eeg", "region_timeseries", "meth_fmri",
                                   "brain_ct"])
def test_shipped_pipelines_are_the_default_routes(study):
    # The shipped study modules have no route of their own: the same function.
    module = load_pipeline(REPO / "pipelines" / f"{study}.py")
    assert module.build_routes.__code__.co_names == ("standard_routes",)
    assert module.standard_routes is build_routes
