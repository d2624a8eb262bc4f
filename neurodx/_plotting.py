"""The one way neurodx makes a figure: a grid of panels, no pyplot state.

Figures are built on matplotlib's object API with an Agg canvas, so report
generation never touches pyplot's global figure registry (thread- and
process-safe, nothing to close).
"""
from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["panel_grid"]


def panel_grid(n_panels: int, ncols: int, panel_size=(3.6, 2.8)):
    """A constrained-layout figure with ``n_panels`` axes on ``ncols`` columns.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : ndarray of Axes, shape (n_panels,)
        Unused cells of the last row are hidden.
    """
    ncols = max(1, min(ncols, n_panels))
    nrows = int(np.ceil(n_panels / ncols))
    fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]
