"""prepare_study: the one way compare and train turn a config into a checked cohort and routes."""
from pathlib import Path

import pytest

from neurodx.config import load_config
from neurodx.errors import CohortError, ConfigError
from neurodx.study import prepare_study

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "hc_fes_chr_eeg.yaml"


def _config(cohort, **eeg):
    return load_config(CONFIG, overrides={"cohort": {"path": str(cohort)},
                                          "eeg": {"min_duration": 0.0, **eeg}})


def test_context_and_routes_come_from_the_cohort(small_eeg_cohort):
    study = prepare_study(_config(small_eeg_cohort), routes=["rmt_les"])
    ctx = study.context
    assert ctx.classes == ["CHR", "FES", "HC"] and ctx.modality == "eeg"
    assert len(ctx.channel_names) == 64 and ctx.sfreq == 128.0
    assert [r.name for r in study.routes] == ["rmt_les"] and len(study.cohort) == 6


def test_unknown_route_and_bad_cohort(small_eeg_cohort):
    with pytest.raises(ConfigError, match=r"unknown route\(s\) \['nope'\]"):
        prepare_study(_config(small_eeg_cohort), routes=["nope"])
    with pytest.raises(CohortError, match="problem\\(s\\) stop this study"):
        prepare_study(_config(small_eeg_cohort, min_duration=60.0))


def _cnn(cohort, **over):
    config = load_config(CONFIG, overrides={"cohort": {"path": str(cohort)},
                                            "eeg": {"min_duration": 0.0}, **over})
    return prepare_study(config, routes=["eeg_cnn"]).routes[0].estimator


def test_eeg_cnn_rate_precedence_route_then_preprocessing_then_preset(small_eeg_cohort):
    # The cohort is at 128 Hz; the shipped preset's network works at 250 Hz.
    assert _cnn(small_eeg_cohort).sfreq == 250.0
    assert _cnn(small_eeg_cohort, preprocessing={"sfreq": 200.0}).sfreq == 200.0
    assert _cnn(small_eeg_cohort, preprocessing={"sfreq": 200.0},
                routes={"eeg_cnn": {"kind": "cnn", "preset": "eeg_hc_fes_chr",
                                    "sfreq": 160.0}}).sfreq == 160.0
    # A preset without a rate works at the recordings' (checked against the cohort's).
    assert _cnn(small_eeg_cohort, routes={"eeg_cnn": {"kind": "cnn",
                                                      "preset": "eeg_fast"}}).sfreq is None


@pytest.mark.parametrize("route, rate, seconds", [
    ({"preset": "eeg_deep7", "window": 1.0}, None, 250),           # 250 samples at 250 Hz
    ({"preset": "eeg_deep7", "window": 1.5}, 128.0, 128),          # 192 samples at 128 Hz
    ({"preset": "eeg_deep7"}, 60.0, 60),                           # 4 s at 60 Hz: 240
])
def test_windows_too_short_for_the_network_name_the_config_setting(small_eeg_cohort, route,
                                                                   rate, seconds):
    over = {"routes": {"eeg_cnn": {"kind": "cnn", **route}}}
    if rate:
        over["preprocessing"] = {"sfreq": rate}
    with pytest.raises(ConfigError, match=rf"^routes\.eeg_cnn\.window: .* at {seconds} Hz, "
                                          r"fewer than the 252 samples .* set "
                                          r"routes\.eeg_cnn\.window to at least [\d.]+ "):
        _cnn(small_eeg_cohort, **over)
