"""prepare_study: the one way compare and train turn a config into a checked cohort and routes."""
from pathlib import Path

import pytest

from neurodx.config import load_config
from neurodx.errors import CohortError, ConfigError
from neurodx.evaluation.study import prepare_study

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
