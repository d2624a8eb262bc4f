"""Figures of the network diagnostics: layer ESDs against MP, alpha across folds, Hessian.

Built on matplotlib's Agg canvas directly (no ``pyplot``), as :mod:`neurodx.rmt.plotting`.
Inputs are the plain records of :func:`~neurodx.models.diagnostics.network_diagnostics`
(one per fold, as the comparison writes them to ``diagnostics.json``).
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..._plotting import panel_grid
from ...rmt.marchenko_pastur import marchenko_pastur_pdf

__all__ = ["representative_network", "plot_layer_spectra", "plot_alpha_across_folds",
           "plot_hessian"]



def representative_network(records: list[dict]) -> tuple[dict, str]:
    """The network shown in detail: first fold; the middle member of an ensemble."""
    rec = records[0]
    nets = rec["networks"]
    net = nets[len(nets) // 2]
    return net, f"repeat {rec['repeat']}, fold {rec['fold']}, {net['name']}"


def plot_layer_spectra(network: dict, title: str = "") -> Figure:
    """One panel per layer: ESD histogram, fitted MP density, bulk edge and spikes."""
    layers = network["layers"]
    fig, axes = panel_grid(len(layers), 4, panel_size=(3.3, 2.5))
    for ax, layer in zip(axes, layers):
        ev = np.asarray(layer["eigenvalues"], dtype=float)
        mp = layer["mp"]
        top = float(ev.max()) if len(ev) else 1.0
        ax.hist(ev, bins=min(60, max(10, len(ev) // 4)), density=True, color="#9ecae1",
                edgecolor="none", label="ESD")
        if mp is not None:
            x = np.linspace(0, max(top, mp["lambda_plus"]) * 1.02, 400)
            ax.plot(x, marchenko_pastur_pdf(x, layer["c"], mp["sigma2"]), color="#08519c",
                    lw=1.2, label=f"MP fit (σ²={mp['sigma2']:.2g})")
            ax.axvline(mp["lambda_plus"], color="#08519c", ls="--", lw=0.8)
            for sp in mp["spikes"]:
                ax.axvline(sp, color="#cb181d", lw=0.8)
        alpha = layer["alpha"]
        spikes = "-" if layer["n_spikes"] is None else layer["n_spikes"]
        ax.set_title(f"{layer['name'] or 'layer'} ({layer['kind']} {layer['N']}x{layer['M']}"
                     f"x{layer['n_matrices']})\nspikes {spikes}, α "
                     + ("-" if alpha is None else f"{alpha:.2f}"), fontsize=7)
        ax.set_yscale("log")
        ax.tick_params(labelsize=6)
    if len(axes):
        axes[0].legend(fontsize=6)
    if title:
        fig.suptitle(title, fontsize=8)
    return fig


def plot_alpha_across_folds(records: list[dict]) -> Figure:
    """Tail exponent alpha per layer: one point per fold (and member), 2-6 band shaded."""
    names = [layer["name"] for layer in records[0]["networks"][0]["layers"]]
    fig, (ax,) = panel_grid(1, 1, panel_size=(max(4.0, 0.7 * len(names) + 1.5), 2.8))
    rng = np.random.default_rng(0)                        # fixed jitter: same figure each run
    ax.axhspan(2, 6, color="#e5f5e0", zorder=0,
               label="2 ≤ α ≤ 6: well-trained layers in HT-SR studies")
    for k, rec in enumerate(records):
        for net in rec["networks"]:
            a = [np.nan if la["alpha"] is None else la["alpha"] for la in net["layers"]]
            x = np.arange(len(a)) + rng.uniform(-0.15, 0.15, len(a))
            ax.plot(x, a, "o", ms=2.5, alpha=0.6, color=f"C{k % 10}",
                    label=f"r{rec['repeat']} f{rec['fold']}" if net is rec["networks"][0] else None)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=6)
    ax.set_ylabel("power-law α")
    ax.legend(fontsize=6, ncol=2)
    return fig


def plot_hessian(records: list[dict]) -> Figure | None:
    """Top Hessian eigenvalues per fold, and the SLQ density of the first fold."""
    recs = [r for r in records if r.get("hessian")]
    if not recs:
        return None
    fig, axes = panel_grid(2, 2, panel_size=(4.0, 2.8))
    for k, rec in enumerate(recs):
        top = rec["hessian"]["top_eigenvalues"]
        axes[0].plot(np.arange(1, len(top) + 1), top, "o-", ms=3, lw=0.8, color=f"C{k % 10}",
                     label=f"r{rec['repeat']} f{rec['fold']}")
    axes[0].set_xlabel("rank")
    axes[0].set_ylabel("Hessian eigenvalue")
    axes[0].set_title("top eigenvalues (Lanczos)", fontsize=8)
    axes[0].legend(fontsize=6, ncol=2)
    h = recs[0]["hessian"]
    grid, dens = np.asarray(h["density_grid"]), np.asarray(h["density"])
    axes[1].plot(grid, np.maximum(dens, 1e-12), color="#08519c", lw=1)
    axes[1].set_yscale("log")
    axes[1].set_ylim(max(dens.max(), 1e-12) * 1e-6, max(dens.max(), 1e-12) * 3)
    axes[1].axvline(h["bulk_edge"], color="#555", ls="--", lw=0.8, label="bulk edge")
    for ev in h["top_eigenvalues"]:
        if ev > h["bulk_edge"]:
            axes[1].axvline(ev, color="#cb181d", lw=0.8)
    axes[1].set_xlabel("eigenvalue")
    axes[1].set_title(f"SLQ density, r{recs[0]['repeat']} f{recs[0]['fold']} "
                      f"({h['n_outliers']} outlier(s) in red)", fontsize=8)
    axes[1].legend(fontsize=6)
    return fig
