"""What the window spectra measured, per band: window length, c, MP edges, outliers.

One row per band of a cohort's :class:`~neurodx.rmt.WindowSpectra`, for the report's
per-band table and the spectra panels (:func:`~neurodx.rmt.plot_spectra_vs_mp`), so the
two state the same numbers.
"""
from __future__ import annotations

import numpy as np

from .les import check_spectra
from .marchenko_pastur import marchenko_pastur_edges
from .tracy_widom import tracy_widom_edge

__all__ = ["band_summary", "point_mass_count"]


def point_mass_count(c: float, n_channels: int) -> int:
    """Eigenvalues per window that stand for the MP point mass at zero.

    For ``c = N / T_eff > 1`` the MP law puts ``1 - 1/c`` of the eigenvalues at 0: a
    window with ``T_eff`` effective samples has rank about ``T_eff``. On filtered data
    ``T_eff`` is smaller than the sample count, so these eigenvalues are small rather
    than exactly zero; the ``round((1 - 1/c) N)`` smallest of each window are the ones
    the point mass describes. 0 for ``c <= 1``.
    """
    return int(round((1.0 - 1.0 / c) * n_channels)) if c > 1 else 0


def band_summary(spectra, groups=None, *, sfreq: float | None = None,
                 c_max: float | None = None, pooling=None,
                 tw_level: float = 0.01) -> list[dict]:
    """One dict per band describing what the window spectra measured.

    Parameters
    ----------
    spectra : list of WindowSpectra
        One per subject (same bands and channels).
    groups : array_like, shape (n_subjects,), optional
        Group label of each subject, for the outlier counts per group.
    sfreq : float, optional
        Sampling rate of the windows, for the window length in seconds.
    c_max : float, optional
        A bound on ``c`` (e.g. the ``c_max`` of an ``rmt_les_tangent`` route); bands
        above it are flagged (``above_bound``).
    pooling : list of dict, optional
        Per band, the measured pooling of an ``rmt_les_tangent`` route with
        ``pooling="measured"`` (``LESTangentFeatures.pooling_`` or
        :func:`~neurodx.rmt.les_tangent.measured_pooling`): adds ``pooled_blocks``,
        ``pooled_c`` and ``bound_reached``, and a note for a band that cannot reach
        ``c_max`` even with every block pooled.
    tw_level : float
        Level of the Tracy-Widom threshold of the largest eigenvalue.

    Returns
    -------
    rows : list of dict
        Keys ``band``, ``n_samples``, ``window_seconds`` (None without ``sfreq``),
        ``t_eff`` (median over subjects), ``n_channels``, ``c``, ``lambda_minus``,
        ``lambda_plus``, ``tw_edge``, ``point_mass`` (fraction, 0 for ``c <= 1``),
        ``point_mass_count`` (per window), ``mean_above_edge`` (eigenvalues above
        ``lambda_plus`` per window, all windows) and ``mean_above_edge_by_group``
        (mean over a group's subjects of their per-window mean), ``above_bound`` and
        ``note`` (plain language, empty when nothing needs saying); with ``pooling``
        also ``pooled_blocks``, ``pooled_c`` and ``bound_reached``.
    """
    spectra = check_spectra(spectra, "spectra")
    groups = (np.array(["all"] * len(spectra), dtype=object) if groups is None
              else np.asarray(groups, dtype=object))
    n_ch, n_samples = spectra[0].n_channels, spectra[0].n_samples
    pooled = {row["band"]: row for row in pooling} if pooling is not None else {}
    rows = []
    for b, band in enumerate(spectra[0].bands):
        t_eff = float(np.median([s.n_eff[b] for s in spectra]))
        c = n_ch / t_eff
        lower, upper = marchenko_pastur_edges(c)
        # Per subject: mean number of eigenvalues above the MP edge per window.
        per_subject = np.array([np.mean(np.sum(s.normalized()[b] > upper, axis=-1))
                                for s in spectra])
        windows = np.array([s.n_windows for s in spectra], dtype=float)
        notes = []
        if c > 1:
            notes.append(
                f"c > 1: point mass 1 - 1/c = {100 * (1 - 1 / c):.0f}% at zero, statistics "
                f"on the non-zero part: a window has fewer effective samples ({t_eff:.0f}) "
                f"than channels ({n_ch}), so the informative eigenvalues are the other "
                f"{n_ch - point_mass_count(c, n_ch)} per window (the rmt_les_nonzero route "
                "compares them with the MP law of ratio 1/c); longer windows "
                "(windows.length) or wider bands raise T_eff.")
        pool = pooled.get(band)
        if pool is not None and not pool["bound_reached"]:
            notes.append(f"pooled windows: {pool['note']}.")
        rows.append({
            "band": band, "n_samples": int(n_samples),
            "window_seconds": float(n_samples / sfreq) if sfreq else None,
            "t_eff": t_eff, "n_channels": int(n_ch), "c": float(c),
            "lambda_minus": float(lower), "lambda_plus": float(upper),
            "tw_edge": tracy_widom_edge(n_ch, t_eff, tw_level) if t_eff > 1 else float("nan"),
            "point_mass": float(1 - 1 / c) if c > 1 else 0.0,
            "point_mass_count": point_mass_count(c, n_ch),
            "mean_above_edge": float(np.sum(per_subject * windows) / np.sum(windows)),
            "mean_above_edge_by_group": {str(g): float(per_subject[groups == g].mean())
                                         for g in dict.fromkeys(groups)},
            "above_bound": bool(c_max is not None and c > c_max),
            "note": " ".join(notes),
        })
        if pool is not None:
            rows[-1].update(pooled_blocks=int(pool["blocks"]), pooled_c=float(pool["c"]),
                            bound_reached=bool(pool["bound_reached"]))
    return rows
