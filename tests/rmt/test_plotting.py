"""Spectra panels read in both MP regimes: the point mass is stated, the MP curve shows."""
import numpy as np
import pytest

from neurodx.rmt import WindowSpectra, plot_les_distributions, plot_spectra_vs_mp
from neurodx.rmt.band_summary import band_summary
from neurodx.rmt.marchenko_pastur import sample_marchenko_pastur


def _spectra(n, t, n_subjects=6, n_windows=30, spike=0.0, seed=0):
    """White-noise correlation spectra (two bands, same c) with an optional top spike."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_subjects):
        ev = np.stack([sample_marchenko_pastur(n, t, n_windows, kind="correlation",
                                               random_state=rng) for _ in range(2)])
        ev = np.sort(np.clip(ev, 0, None), axis=-1)
        ev[..., -1] += spike
        ev *= n / ev.sum(axis=-1, keepdims=True)          # correlation: mean 1
        out.append(WindowSpectra(eigenvalues=ev, sigma2=np.ones(ev.shape[:2]),
                                 bands=("alpha", "beta"), n_samples=t,
                                 n_eff=np.array([t, t], dtype=float)))
    return out


def _texts(ax):
    """The panel's text boxes and its insets' titles."""
    return " ".join([t.get_text() for t in ax.texts]
                    + [inset.get_title() for inset in ax.child_axes])


def _curve_and_hist_max(ax):
    curve = max(np.max(line.get_ydata()) for line in ax.get_lines()
                if line.get_linestyle() == "-" and len(line.get_xdata()) > 10)
    hist = max(np.max(p.get_path().vertices[:, 1]) for p in ax.patches)
    return curve, hist


def test_point_mass_stated_and_mp_curve_visible_for_c_above_one():
    spectra = _spectra(n=40, t=16)                    # c = 2.5: 60 % of eigenvalues at 0
    groups = np.array(["HC", "HC", "HC", "SZ", "SZ", "SZ"])
    fig = plot_spectra_vs_mp(spectra, groups)
    ax = fig.axes[0]
    assert "point mass at 0: 1 - 1/c = 60% of eigenvalues" in _texts(ax)
    assert "smallest 24 of 40 per window" in _texts(ax)
    assert ax.get_xscale() == "log"
    curve, hist = _curve_and_hist_max(ax)
    # the zeros are not drawn, so the MP density is on the histogram's scale
    assert curve > 0.4 * hist


def test_bulk_linear_and_outliers_counted_for_c_below_one():
    spectra = _spectra(n=10, t=60, spike=6.0)         # c = 1/6, one outlier per window
    fig = plot_spectra_vs_mp(spectra)
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear"
    assert "point mass" not in _texts(ax)
    assert "above λ+: 180 (1.00 per window)" in _texts(ax)     # 6 subjects x 30 windows
    inset = ax.child_axes[0]
    assert inset.get_xscale() == "log" and inset.get_xlim()[1] > 4.5   # the spikes show
    curve, hist = _curve_and_hist_max(ax)
    assert curve > 0.4 * hist


def test_band_summary_states_what_was_measured():
    spectra = _spectra(n=40, t=16)
    rows = band_summary(spectra, ["a", "a", "a", "b", "b", "b"], sfreq=8.0, c_max=0.5)
    row = rows[0]
    assert row["c"] == pytest.approx(2.5)
    assert row["window_seconds"] == pytest.approx(2.0)
    assert row["point_mass"] == pytest.approx(0.6)
    assert row["lambda_plus"] == pytest.approx((1 + np.sqrt(2.5)) ** 2)
    assert row["tw_edge"] > row["lambda_plus"]
    assert set(row["mean_above_edge_by_group"]) == {"a", "b"}
    assert "c > 1" in row["note"] and row["above_bound"]
    assert band_summary(_spectra(n=10, t=60))[0]["note"] == ""


def test_les_axis_states_the_unit():
    rng = np.random.default_rng(0)
    fig = plot_les_distributions(rng.normal(-40, 10, (12, 2)), ["a"] * 6 + ["b"] * 6,
                                 ["alpha_vne_mean", "beta_vne_mean"], standardized=True)
    assert "null SD" in fig.axes[0].get_ylabel()


def test_save_figures_for_a_look(tmp_path):
    # Writing both regimes' figures exercises the Agg canvas end to end.
    for name, sp in (("above", _spectra(n=40, t=16)), ("below", _spectra(n=10, t=60, spike=6))):
        plot_spectra_vs_mp(sp, fname=tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 1000

