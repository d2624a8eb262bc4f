"""Figures of the RMT stage: spectra against the MP law, LES distributions by group.

Figures are built on matplotlib's Agg canvas directly (no ``pyplot``), so they work
headless and leave no global figure state behind.
"""
from __future__ import annotations

from os import PathLike

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .._plotting import panel_grid
from ..errors import ConfigError
from .band_summary import band_summary
from .les import check_spectra
from .marchenko_pastur import marchenko_pastur_pdf
from .ring_law import ring_eigenvalues, ring_law_msr, ring_radii

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

    One panel per band, with ``c = N / T_eff`` (median over subjects):

    * ``c <= 1``: histograms (densities) of the normalised eigenvalues of all windows
      of each group on a linear axis over the bulk, the MP density, and the
      eigenvalues above the MP edge ``lambda_+`` as rug marks with their count
      (those beyond the axis are counted in the panel's text).
    * ``c > 1``: the MP law puts ``1 - 1/c`` of the eigenvalues at 0. That share of
      each window's eigenvalues (its smallest, see
      :func:`~neurodx.rmt.band_summary.point_mass_count`) is stated in the panel, not
      drawn; the rest is shown on a log axis (density per decade) against the MP
      density of the continuous part rescaled to mass 1, so the bulk and outliers far
      above ``lambda_+`` are both visible.

    Every panel marks ``lambda_+`` (dashed) and the Tracy-Widom 1% threshold of the
    largest eigenvalue (dotted).

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
    summary = {row["band"]: row for row in band_summary(spectra, groups)}
    fig, axes = panel_grid(len(bands), ncols, panel_size=(3.9, 3.0))
    for ax, band in zip(axes, bands):
        b, row = all_bands.index(band), summary[band]
        c, upper = row["c"], row["lambda_plus"]
        k = row["point_mass_count"]
        # Each window's eigenvalues ascend: dropping the first k drops the point mass.
        pooled = {g: np.concatenate([s.normalized()[b][:, k:].ravel()
                                     for s, gs in zip(spectra, groups) if gs == g])
                  for g in dict.fromkeys(groups)}
        if c > 1:
            text = _panel_log(ax, pooled, row, bins)
        else:
            text = _panel_linear(ax, pooled, row, bins)
        ax.axvline(upper, color="k", ls="--", lw=0.8, label="λ+")
        if np.isfinite(row["tw_edge"]):
            ax.axvline(row["tw_edge"], color="k", ls=":", lw=0.9, label="TW 1%")
        ax.set_ylim(0, 1.25 * ax.get_ylim()[1])           # headroom for the text/inset
        if text:
            ax.text(0.98, 0.97, "\n".join(text), transform=ax.transAxes, ha="right",
                    va="top", fontsize=7, bbox={"facecolor": "white", "alpha": 0.85, "lw": 0})
        ax.set_title(f"{band}: c = N/T_eff = {row['n_channels']}/{row['t_eff']:.0f} "
                     f"= {c:.2f}", fontsize=9)
    legend = {}                      # one entry per label over all panels
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    handles, labels = list(legend.values()), list(legend)
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8)
    return _save(fig, fname)


def _above_text(pooled, row):
    n_windows = sum(len(v) for v in pooled.values()) / max(
        row["n_channels"] - row["point_mass_count"], 1)
    n_above = sum(int(np.sum(v > row["lambda_plus"])) for v in pooled.values())
    return f"above λ+: {n_above} ({n_above / n_windows:.2f} per window)"


def _panel_log(ax, pooled, row, bins):
    """c > 1: the non-point-mass eigenvalues on a log axis, density per decade."""
    c, lower, upper = row["c"], row["lambda_minus"], row["lambda_plus"]
    values = np.concatenate(list(pooled.values()))
    positive = values[values > 0]
    lo = min(lower / 2, np.quantile(positive, 0.001)) if positive.size else lower / 2
    lo = max(lo, 1e-12)
    hi = max(1.5 * upper, 1.2 * values.max())
    edges = np.logspace(np.log10(lo), np.log10(hi), bins + 1)
    width = np.log10(edges[1] / edges[0])                 # one bin, in decades
    for g, vals in pooled.items():
        ax.hist(np.clip(vals, lo, None), bins=edges, histtype="step", lw=1.5, label=str(g),
                weights=np.full(vals.size, 1.0 / (vals.size * width)))
    x = np.logspace(np.log10(max(lower, lo)), np.log10(upper), 400)
    # MP density of log10(eigenvalue) for the continuous part, rescaled by c to mass 1.
    ax.plot(x, np.log(10) * x * c * marchenko_pastur_pdf(x, c), "k-", lw=1.2,
            label="MP")
    ax.set_xscale("log")
    # 1-2-5 labels over a short range, decades over a long one: never crowded
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5) if hi / lo < 300 else (1,)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(lo, hi)
    ax.set_xlabel("eigenvalue / sigma2 (log scale)")
    ax.set_ylabel("density per decade")
    return [f"point mass at 0: 1 - 1/c = {100 * row['point_mass']:.0f}% of eigenvalues",
            f"(smallest {row['point_mass_count']} of {row['n_channels']} per window, "
            "not plotted)", _above_text(pooled, row)]


def _panel_linear(ax, pooled, row, bins):
    """c <= 1: the bulk on a linear axis; the eigenvalues above lambda_+ in an inset."""
    c, upper = row["c"], row["lambda_plus"]
    top = max(1.15 * upper, 1.05 * row["tw_edge"] if np.isfinite(row["tw_edge"]) else 0)
    edges = np.linspace(0.0, top, bins + 1)
    for k, (g, vals) in enumerate(pooled.items()):
        # density of all eigenvalues (those beyond the axis count in the normalisation)
        inside = vals[vals <= top]
        ax.hist(inside, bins=edges, histtype="step", lw=1.5, label=str(g), color=f"C{k}",
                weights=np.full(inside.size, 1.0 / (vals.size * (edges[1] - edges[0]))))
    x = np.linspace(max(row["lambda_minus"], 1e-9), upper, 400)
    ax.plot(x, marchenko_pastur_pdf(x, c), "k-", lw=1.2, label="MP")
    ax.set_xlim(0, top)
    ax.set_xlabel("eigenvalue / sigma2")
    ax.set_ylabel("density")
    _outlier_inset(ax, pooled, row)
    return []


def _outlier_inset(ax, pooled, row):
    """Eigenvalues above lambda_+ per window and group, on a log axis up to the largest.

    Real recordings put a few eigenvalues per window far above the bulk (10-20 x
    lambda_+ is common): a linear axis wide enough for them squeezes the bulk, so they
    get their own axis, counted per window.
    """
    upper = row["lambda_plus"]
    above = {g: v[v > upper] for g, v in pooled.items()}
    inset = ax.inset_axes([0.5, 0.42, 0.47, 0.38])
    inset.tick_params(labelsize=6)
    per_window = row["n_channels"] - row["point_mass_count"]
    inset.set_title(_above_text(pooled, row), fontsize=7)
    top = max((v.max() for v in above.values() if v.size), default=0.0)
    if top <= upper:
        inset.text(0.5, 0.5, "none", ha="center", va="center", fontsize=7,
                   transform=inset.transAxes)
        inset.set_xticks([])
        inset.set_yticks([])
        return
    edges = np.logspace(np.log10(upper), np.log10(1.05 * top), 16)
    for k, (g, vals) in enumerate(above.items()):
        n_windows = pooled[g].size / max(per_window, 1)
        inset.hist(vals, bins=edges, histtype="step", color=f"C{k}", lw=1.0,
                   weights=np.full(vals.size, 1.0 / n_windows))
    if np.isfinite(row["tw_edge"]):
        inset.axvline(row["tw_edge"], color="k", ls=":", lw=0.8)
    inset.set_xscale("log")
    inset.xaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    inset.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    inset.xaxis.set_minor_formatter(NullFormatter())
    inset.set_xlim(upper, 1.05 * top)
    inset.set_ylabel("per window", fontsize=6)


def plot_les_distributions(features, groups, feature_names=None, *, features_to_plot=None,
                           kind: str = "box", ncols: int = 4, standardized: bool = False,
                           fname: str | PathLike | None = None) -> Figure:
    """Distribution of LES features per group, one panel per feature.

    A panel whose values span more than two orders of magnitude is drawn on a
    symmetric log axis (linear within +-1).

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
    standardized : bool
        The features are MP-standardised LES (``LinearEigenvalueStatistics(
        standardize=True)``): the y axis then says its unit, null standard deviations
        from white noise at the same ``(N, T_eff)``.
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
        if standardized:
            ax.set_ylabel("null SDs from white noise", fontsize=8)
        magnitude = np.abs(features[:, col][np.isfinite(features[:, col])])
        if magnitude.size and magnitude.max() > 100 * max(np.median(magnitude), 1.0):
            ax.set_yscale("symlog", linthresh=1.0)
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
            z = ring_eigenvalues(lam, c, L)
            msr = float(np.abs(z).mean())     # mean_spectral_radius of these eigenvalues
            z = z.ravel()
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
