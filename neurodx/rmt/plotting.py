"""Figures of the RMT stage: spectra against the MP law, LES distributions by group.

Figures are built on matplotlib's Agg canvas directly (no ``pyplot``), so they work
headless and leave no global figure state behind.
"""
from __future__ import annotations

from os import PathLike

import numpy as np
from matplotlib.figure import Figure

from .._plotting import panel_grid
from ..errors import ConfigError
from .les import check_spectra
from .marchenko_pastur import marchenko_pastur_edges, marchenko_pastur_pdf
from .ring_law import mean_spectral_radius, ring_eigenvalues, ring_law_msr, ring_radii

__all__ = ["plot_spectra_vs_mp", "plot_les_distributions", "plot_ring_law"]



def _groups(groups, n):
    if groups is None:
        return np.array(["all"] * n, dtype=object)
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ConfigError(f"groups must have one label per subject ({n}), got shape "
                          f"{groups.shape}")
    return groups


def _save(fig, fname):
    if fname is not None:
        fig.savefig(fname, dpi=100)
    return fig


def plot_spectra_vs_mp(spectra, groups=None, *, bands=None, bins: int = 60, ncols: int = 3,
                       fname: str | PathLike | None = None) -> Figure:
    """Empirical window eigenvalue spectra per group against the MP density.

    One panel per band: histograms (densities) of the normalised eigenvalues of all
    windows of all subjects of each group, the MP density of the continuous part for
    ``c = N / T_eff`` (median over subjects), and the MP upper edge (dashed).

    Parameters
    ----------
    spectra : list of WindowSpectra
        Output of :class:`~neurodx.rmt.EigenSpectra`.
    groups : array_like, shape (n_subjects,), optional
        Group label of each subject (e.g. ``"HC"``, ``"FES"``).
    bands : sequence of str, optional
        Bands to show (default all).
    bins : int
        Histogram bins.
    ncols : int
        Panels per row.
    fname : path, optional
        Where to save a PNG.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    spectra = check_spectra(spectra, "spectra")
    groups = _groups(groups, len(spectra))
    all_bands = spectra[0].bands
    bands = list(all_bands if bands is None else bands)
    unknown = [b for b in bands if b not in all_bands]
    if unknown:
        raise ConfigError(f"unknown bands {unknown}; the spectra have {list(all_bands)}")
    fig, axes = panel_grid(len(bands), ncols)
    n_ch = spectra[0].n_channels
    for ax, band in zip(axes, bands):
        b = all_bands.index(band)
        c = n_ch / float(np.median([s.n_eff[b] for s in spectra]))
        lower, upper = marchenko_pastur_edges(c)
        pooled = {g: np.concatenate([s.normalized()[b].ravel()
                                     for s, gs in zip(spectra, groups) if gs == g])
                  for g in np.unique(groups)}
        top = max(1.3 * upper, max(np.quantile(v, 0.995) for v in pooled.values()))
        edges = np.linspace(0.0, top, bins + 1)
        for g, vals in pooled.items():
            ax.hist(np.clip(vals, 0, top), bins=edges, density=True, histtype="step",
                    lw=1.5, label=f"{g}")
        x = np.linspace(max(lower, 1e-9), upper, 400)
        ax.plot(x, marchenko_pastur_pdf(x, c), "k-", lw=1.2, label="MP")
        ax.axvline(upper, color="k", ls="--", lw=0.8)
        title = f"{band}: c = {c:.2f}"
        if c > 1:
            title += f" (atom {1 - 1 / c:.2f} at 0)"
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("eigenvalue / sigma2")
        ax.set_ylabel("density")
    axes[0].legend(fontsize=8)
    return _save(fig, fname)


def plot_les_distributions(features, groups, feature_names=None, *, features_to_plot=None,
                           kind: str = "box", ncols: int = 4,
                           fname: str | PathLike | None = None) -> Figure:
    """Distribution of LES features per group, one panel per feature.

    Parameters
    ----------
    features : array_like, shape (n_samples, n_features)
        Subject-level features (e.g. :class:`~neurodx.rmt.SubjectAggregator` output) or
        stacked windows (:func:`~neurodx.rmt.stack_windows`).
    groups : array_like, shape (n_samples,)
        Group label of each row.
    feature_names : sequence of str, optional
        Column names (e.g. ``pipeline[:-2].get_feature_names_out()``).
    features_to_plot : sequence of str or int, optional
        Names or column indices; default the first 12 columns.
    kind : {"box", "violin"}
    ncols : int
        Panels per row.
    fname : path, optional
        Where to save a PNG.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ConfigError(f"features must be (n_samples, n_features), got shape {features.shape}")
    groups = _groups(groups, features.shape[0])
    names = (list(feature_names) if feature_names is not None
             else [f"x{i}" for i in range(features.shape[1])])
    if len(names) != features.shape[1]:
        raise ConfigError(f"{len(names)} feature names for {features.shape[1]} columns")
    if kind not in ("box", "violin"):
        raise ConfigError(f"kind must be 'box' or 'violin', got {kind!r}")
    if features_to_plot is None:
        cols = list(range(min(12, features.shape[1])))
    else:
        cols = []
        for f in features_to_plot:
            if isinstance(f, (int, np.integer)):
                cols.append(int(f))
            elif f in names:
                cols.append(names.index(f))
            else:
                raise ConfigError(f"unknown feature {f!r}")
    labels = list(np.unique(groups))
    fig, axes = panel_grid(len(cols), ncols, panel_size=(3.0, 2.6))
    for ax, col in zip(axes, cols):
        data = [features[groups == g, col] for g in labels]
        if kind == "box":
            ax.boxplot(data, tick_labels=[str(g) for g in labels])
        else:
            ax.violinplot(data, showmedians=True)
            ax.set_xticks(np.arange(1, len(labels) + 1), [str(g) for g in labels])
        ax.set_title(names[col], fontsize=9)
    return _save(fig, fname)


def plot_ring_law(spectra, groups=None, *, n_factors=(1, 5), band: int = 0,
                  max_windows: int = 20, fname: str | PathLike | None = None) -> Figure:
    """Ring-law eigenvalues in the complex plane per group, against the null ring.

    One panel per ``L``: the eigenvalues of the normalised product of ``L``
    singular-value-equivalent matrices (:func:`neurodx.rmt.ring_law.ring_eigenvalues`)
    of up to ``max_windows`` windows per subject, coloured by group, with the inner
    radius ``(1 - c)^(L/2)`` and the unit circle of the white-noise ring law
    (``c = N / T_eff``, median over subjects). The legend gives each group's mean
    spectral radius (``msr_l<L>``) and the ring law's value for independent factors.

    Parameters
    ----------
    spectra : list of WindowSpectra
    groups : array_like, shape (n_subjects,), optional
    n_factors : sequence of int
        The ``L`` values, one panel each.
    band : int
        Band index (the first by default).
    max_windows : int
        Windows per subject drawn (evenly spread), to keep the figure light.
    """
    spectra = check_spectra(spectra, "spectra")
    groups = _groups(groups, len(spectra))
    c = float(np.median([s.ratio[band] for s in spectra]))
    fig, axes = panel_grid(len(n_factors), len(n_factors), panel_size=(3.6, 3.6))
    theta = np.linspace(0, 2 * np.pi, 200)
    for ax, L in zip(axes, n_factors):
        for k, g in enumerate(dict.fromkeys(groups)):
            lam = [s.normalized()[band][np.unique(np.linspace(
                       0, s.n_windows - 1, min(s.n_windows, max_windows)).astype(int))]
                   for s, gi in zip(spectra, groups) if gi == g]
            lam = np.concatenate(lam)
            z = ring_eigenvalues(lam, c, L).ravel()
            msr = float(mean_spectral_radius(lam, c, L).mean())
            ax.scatter(z.real, z.imag, s=2, alpha=0.3, color=f"C{k}", lw=0,
                       label=f"{g}: MSR {msr:.3f}")
        inner, outer = ring_radii(c, L)
        for r, ls in ((inner, "--"), (outer, "-")):
            ax.plot(r * np.cos(theta), r * np.sin(theta), color="k", lw=0.8, ls=ls)
        ax.set_aspect("equal")
        ax.set_title(f"L = {L} (null MSR ~ {ring_law_msr(c, L):.3f})", fontsize=9)
        ax.set_xlabel("Re")
        ax.set_ylabel("Im")
        ax.legend(fontsize=7, markerscale=4, loc="lower left")
    return _save(fig, fname)
