"""Synthetic fMRI region time series (atlas-parcellated resting state). SYNTHETIC DATA.

Model per subject (regions x time points, one ``.tsv`` per subject with region
names in the header, as fMRIPrep/nilearn exports are):

* ``n_networks`` latent network signals, each AR(1) with coefficient ~0.6 (slow
  BOLD-like fluctuations at TR ~2 s), unit variance;
* every region belongs to one network (contiguous blocks) with a loading
  drawn around ``coupling`` (sd 0.15 between subjects and regions), plus
  independent AR(1) noise of unit variance, so within-network correlation is
  about ``coupling**2 / (1 + coupling**2)``;
* **group effect**: a group with severity s (first group 0, last 1, evenly
  between) has the loadings of network 0 scaled by ``1 - 0.4 * s * effect_size``
  (weaker within-network connectivity, as reported for default-mode and
  fronto-striatal networks in schizophrenia and addiction), and a weak extra
  coupling ``0.25 * s * effect_size`` between networks 0 and 1;
* a per-subject scale and offset per region (arbitrary units), so only
  correlation-based features are comparable across subjects.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._json import dumps
from ..errors import ConfigError

__all__ = ["simulate_region_timeseries", "simulate_region_cohort"]


def _ar1(rng, n, t, phi):
    e = rng.standard_normal((n, t)) * np.sqrt(1 - phi ** 2)
    x = np.empty((n, t))
    x[:, 0] = rng.standard_normal(n)
    for k in range(1, t):  # t is a few hundred: the loop is over time, not windows
        x[:, k] = phi * x[:, k - 1] + e[:, k]
    return x


def simulate_region_timeseries(severity: float = 0.0, *, n_regions: int = 30, n_times: int = 200,
                               n_networks: int = 5, coupling: float = 0.8,
                               effect_size: float = 1.0, seed=0) -> np.ndarray:
    """One subject's ``(n_regions, n_times)`` series (see the module docstring)."""
    if n_networks < 2 or n_regions < 2 * n_networks:
        raise ConfigError(f"need n_networks >= 2 and at least 2 regions per network, got "
                          f"{n_regions} regions and {n_networks} networks")
    rng = np.random.default_rng(seed)
    membership = np.arange(n_regions) * n_networks // n_regions
    latent = _ar1(rng, n_networks, n_times, 0.6)
    loading = coupling + 0.15 * rng.standard_normal(n_regions)
    loading[membership == 0] *= 1 - 0.4 * severity * effect_size
    signal = loading[:, None] * latent[membership]
    extra = 0.25 * severity * effect_size
    signal[membership == 0] += extra * latent[1]
    signal[membership == 1] += extra * latent[0]
    data = signal + _ar1(rng, n_regions, n_times, 0.3)
    scale = rng.uniform(50, 150, n_regions)[:, None]
    offset = rng.uniform(500, 1500, n_regions)[:, None]
    return data * scale + offset


def simulate_region_cohort(out: str | Path, groups: Sequence[str] = ("HC", "SZ"),
                           subjects_per_group: int = 10, *, n_regions: int = 30,
                           n_times: int = 200, sites: int = 1, effect_size: float = 1.0,
                           seed: int = 0) -> Path:
    """Write a SYNTHETIC region time-series cohort (``.tsv`` files + ``participants.tsv``)."""
    out = Path(out)
    groups = list(groups)
    if len(set(groups)) != len(groups) or len(groups) < 1:
        raise ConfigError(f"groups must be distinct labels, got {groups}")
    if subjects_per_group < 1:
        raise ConfigError(f"subjects_per_group must be >= 1, got {subjects_per_group}")
    out.mkdir(parents=True, exist_ok=True)
    severity = {g: (i / (len(groups) - 1) if len(groups) > 1 else 0.0)
                for i, g in enumerate(groups)}
    names = [f"roi{i + 1:03d}" for i in range(n_regions)]
    seeds = np.random.SeedSequence(seed).spawn(len(groups) * subjects_per_group)
    rows = []
    for gi, group in enumerate(groups):
        for i in range(subjects_per_group):
            pid = f"sub-{group}{i + 1:02d}"
            data = simulate_region_timeseries(severity[group], n_regions=n_regions,
                                              n_times=n_times, effect_size=effect_size,
                                              seed=seeds[gi * subjects_per_group + i])
            rel = Path(pid) / "func" / f"{pid}_task-rest_timeseries.tsv"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(data.T, columns=names).to_csv(out / rel, sep="\t", index=False,
                                                       float_format="%.3f")
            rows.append({"participant_id": pid, "group": group,
                         "site": f"site{i % sites + 1}", "synthetic": "yes",
                         "path": rel.as_posix()})
    pd.DataFrame(rows).to_csv(out / "participants.tsv", sep="\t", index=False)
    from .. import __version__
    (out / "simulation.json").write_text(dumps({
        "synthetic": True, "generator": "neurodx.simulate.simulate_region_cohort",
        "neurodx_version": __version__, "seed": seed, "groups": groups,
        "subjects_per_group": subjects_per_group, "n_regions": n_regions, "n_times": n_times,
        "sites": sites, "effect_size": effect_size, "group_severity": severity}, indent=2) + "\n")
    (out / "README.md").write_text(
        "# SYNTHETIC region time-series cohort\n\nGenerated by `neurodx simulate regions`; no "
        "recording comes from a person. Model and group effect: `neurodx/simulate/regions.py`."
        f"\n\nRegenerate with:\n\n    neurodx simulate regions --out {out.name} --groups "
        f"{' '.join(groups)} --subjects-per-group {subjects_per_group} --regions {n_regions} "
        f"--timepoints {n_times} --sites {sites} --effect-size {effect_size:g} --seed {seed}\n")
    return out
