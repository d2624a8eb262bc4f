"""
Window spectra and LES of sample subjects
=========================================

The RMT route cuts a recording into band-limited windows, takes the correlation
matrix of each and compares its eigenvalues with the Marchenko–Pastur law. Band
filtering makes neighbouring samples dependent, so the ratio uses the *effective*
number of samples per window (:func:`neurodx.rmt.effective_sample_size`).
"""
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import neurodx
from neurodx.io import EEGSpec, check_cohort, load_cohort, load_eeg
from neurodx.preprocessing import band_windows, preprocess_raw
from neurodx.rmt import (effective_sample_size, marchenko_pastur_edges, marchenko_pastur_pdf,
                         window_eigenvalues)

# The SYNTHETIC sample cohort shipped beside the package in the source tree.
sample_data = Path(neurodx.__file__).resolve().parents[1] / "sample_data"
cohort = load_cohort(sample_data)
check = check_cohort(cohort, EEGSpec(n_channels=64))
subject = cohort.subjects[0]
raw = load_eeg(subject.paths[0], EEGSpec(), check.channel_names, check.sfreq)
raw = preprocess_raw(raw, reference="average")

# %%
# Alpha-band windows of 2 s with 50 % overlap, their eigenvalues and the MP law at
# the effective ratio c = N / T_eff.
band, windows = next(band_windows(raw, {"alpha": (8.0, 13.0)}, window=2.0, overlap=0.5))
eigenvalues = window_eigenvalues(windows, dtype=np.float64)
n_eff = effective_sample_size(windows)
c = windows.shape[1] / n_eff
lo, hi = marchenko_pastur_edges(c)
print(f"{subject.participant_id} ({subject.group}), {band}: {len(windows)} windows, "
      f"N = {windows.shape[1]}, T_eff = {n_eff:.1f}, MP support [{lo:.2f}, {hi:.2f}]")

x = np.linspace(max(lo, 1e-3), hi, 400)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist(eigenvalues.ravel(), bins=100, range=(0, max(hi * 1.5, 1)), density=True,
        alpha=0.6, label=f"{subject.participant_id}, {band}")
ax.plot(x, marchenko_pastur_pdf(x, c), "k", label=f"MP law, c = {c:.2f}")
ax.set(xlabel="eigenvalue", ylabel="density")
ax.legend()
fig.tight_layout()

# %%
# Linear eigenvalue statistics (LES) summarise each window's spectrum by test
# functions, standardised against the MP null at the same ratio. The first three steps
# of the LES route turn one ``Raw`` per subject into one row per subject; the MP
# reference is fitted on the subjects given to ``fit`` (in ``neurodx compare``, the
# training subjects of each fold).
import pandas as pd

from neurodx.rmt import make_les_pipeline

subjects = [s for group in ("HC", "FES")
            for s in [s for s in cohort.subjects if s.group == group][:2]]   # 2 HC, 2 FES
raws = [preprocess_raw(load_eeg(s.paths[0], EEGSpec(), check.channel_names, check.sfreq),
                       reference="average") for s in subjects]
les = make_les_pipeline(bands={"alpha": (8.0, 13.0)}, window=2.0)[:3]
features = les.fit_transform(raws, [s.group for s in subjects])
names = les[-1].get_feature_names_out(les[1].get_feature_names_out())
table = pd.DataFrame(features, columns=names,
                     index=[f"{s.participant_id} ({s.group})" for s in subjects])
print(table[["alpha_vne_mean", "alpha_logdet_mean", "alpha_lmax_mean",
             "alpha_n_above_mean"]].round(2).to_string())
