"""
Marchenko–Pastur law on white noise
===================================

The eigenvalues of the sample correlation matrix of ``N`` independent channels
observed for ``T`` samples follow the Marchenko–Pastur (MP) law with ratio
``c = N / T``. This is the null that neurodx's RMT route measures EEG windows
against: eigenvalues outside the MP support are structure, not noise.
"""
import matplotlib.pyplot as plt
import numpy as np

from neurodx.rmt import marchenko_pastur_edges, marchenko_pastur_pdf, window_eigenvalues

rng = np.random.default_rng(0)
n_windows, n_channels, n_samples = 200, 64, 256
windows = rng.standard_normal((n_windows, n_channels, n_samples))

# One batched decomposition for all windows: (n_windows, n_channels) eigenvalues.
eigenvalues = window_eigenvalues(windows, dtype=np.float64)
c = n_channels / n_samples
lo, hi = marchenko_pastur_edges(c)
print(f"c = {c:.3f}: MP support [{lo:.3f}, {hi:.3f}]; "
      f"observed [{eigenvalues.min():.3f}, {eigenvalues.max():.3f}]")

# %%
# The histogram of all eigenvalues against the MP density.
x = np.linspace(lo * 0.9, hi * 1.1, 400)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist(eigenvalues.ravel(), bins=80, density=True, alpha=0.6, label="white noise")
ax.plot(x, marchenko_pastur_pdf(x, c), "k", label=f"MP law, c = {c:.2f}")
ax.axvline(hi, ls="--", c="grey")
ax.set(xlabel="eigenvalue", ylabel="density")
ax.legend()
fig.tight_layout()
