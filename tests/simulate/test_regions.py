import numpy as np
import pandas as pd
import pytest

from neurodx.errors import ConfigError
from neurodx.io import read_region_timeseries
from neurodx.simulate import simulate_region_cohort, simulate_region_timeseries


def _within_network0(x, n_regions=30, n_networks=5):
    members = np.arange(n_regions) * n_networks // n_regions == 0
    c = np.corrcoef(x[members])
    return c[np.triu_indices_from(c, 1)].mean()


def test_documented_effect_weakens_network0_coupling():
    hc = np.mean([_within_network0(simulate_region_timeseries(0.0, seed=s)) for s in range(8)])
    sz = np.mean([_within_network0(simulate_region_timeseries(1.0, seed=s)) for s in range(8)])
    null = np.mean([_within_network0(simulate_region_timeseries(1.0, effect_size=0, seed=s))
                    for s in range(8)])
    assert sz < hc - 0.1
    assert abs(null - hc) < 1e-12   # effect_size 0: the same subjects whatever the group


def test_cohort_round_trip_and_determinism(tmp_path):
    a = simulate_region_cohort(tmp_path / "a", ("HC", "SZ"), 2, n_regions=12, n_times=50, seed=4)
    b = simulate_region_cohort(tmp_path / "b", ("HC", "SZ"), 2, n_regions=12, n_times=50, seed=4)
    df = pd.read_csv(a / "participants.tsv", sep="\t")
    assert list(df["group"]) == ["HC", "HC", "SZ", "SZ"] and set(df["synthetic"]) == {"yes"}
    for rel in df["path"]:
        assert (a / rel).read_bytes() == (b / rel).read_bytes()
    ts = read_region_timeseries(a / df["path"][0])
    assert ts.data.shape == (12, 50) and ts.region_names[0] == "roi001"


def test_bad_options(tmp_path):
    with pytest.raises(ConfigError, match="regions per network"):
        simulate_region_timeseries(n_regions=6, n_networks=5)
    with pytest.raises(ConfigError, match="distinct"):
        simulate_region_cohort(tmp_path, ("A", "A"), 1)
