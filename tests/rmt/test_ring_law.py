"""Ring law: radii on white noise, MSR null moments and departure on correlated signals."""
import numpy as np
import pytest

from neurodx.errors import ConfigError
from neurodx.rmt import (evaluate_test_functions, get_test_function, null_moments,
                         window_eigenvalues)
from neurodx.rmt.ring_law import (haar_unitary, mean_spectral_radius, product_windows,
                                  ring_eigenvalues, ring_law_msr, ring_radii, ring_size,
                                  ring_step)


def _white(n, t, n_windows=40, seed=0):
    rng = np.random.default_rng(seed)
    return window_eigenvalues(rng.standard_normal((n_windows, n, t)), dtype=np.float64)


def test_haar_unitary_is_unitary():
    u = haar_unitary(8, 3, random_state=0)
    eye = np.broadcast_to(np.eye(8), u.shape)
    np.testing.assert_allclose(u @ u.conj().transpose(0, 2, 1), eye, atol=1e-12)


@pytest.mark.parametrize("n_factors", [1, 5])
def test_ring_radii_white_noise_c_below_one(n_factors):
    n, t = 64, 256
    c = n / (t - 1)                                    # demeaned windows: T - 1 samples
    r = np.abs(ring_eigenvalues(_white(n, t), c, n_factors))
    inner, outer = ring_radii(c, n_factors)
    assert inner == pytest.approx((1 - c) ** (n_factors / 2))
    # finite-size edges blur by ~N^-1/2: almost all moduli inside the annulus
    assert np.quantile(r, 0.05) > inner - 0.05
    assert np.quantile(r, 0.95) < outer + 0.05
    assert np.quantile(r, 0.10) < inner + 0.15          # the hole is filled up to its edge
    assert r.mean() == pytest.approx(ring_law_msr(c, n_factors), abs=0.03)


@pytest.mark.parametrize("n_factors", [1, 5])
def test_ring_radii_white_noise_c_above_one(n_factors):
    n, t = 64, 32                                      # c ~ 2: rank-deficient windows
    c = n / (t - 1)
    z = ring_eigenvalues(_white(n, t), c, n_factors)
    assert z.shape[-1] == ring_size(n, c) == t - 1     # the non-zero part only
    r = np.abs(z)
    inner, outer = ring_radii(c, n_factors)
    assert inner == pytest.approx((1 - 1 / c) ** (n_factors / 2))
    # n = 31 ring matrices: the edges blur more (~n^-1/2)
    assert np.quantile(r, 0.05) > inner - 0.1
    assert np.quantile(r, 0.95) < outer + 0.05
    assert np.quantile(r, 0.10) < inner + 0.15
    assert r.mean() == pytest.approx(ring_law_msr(c, n_factors), abs=0.04)


def test_msr_departs_from_null_on_correlated_signal():
    n, t, n_w = 32, 128, 30
    rng = np.random.default_rng(1)
    mixing = rng.standard_normal((n, 3))
    shared = np.einsum("nk,wkt->wnt", mixing, rng.standard_normal((n_w, 3, t)))
    lam = window_eigenvalues(rng.standard_normal((n_w, n, t)) + shared, dtype=np.float64)
    lam_white = _white(n, t, n_w, seed=2)
    names = ["msr_l1", "msr_l5"]
    mean, sd = null_moments(names, n, t - 1, n_draws=100)
    z_corr = (evaluate_test_functions(lam, names, n / (t - 1)) - mean) / sd
    z_white = (evaluate_test_functions(lam_white, names, n / (t - 1)) - mean) / sd
    assert np.all(np.abs(z_white.mean(axis=0)) < 1.0)   # white noise sits on its null
    assert np.all(z_corr.mean(axis=0) < -3.0)           # correlation pulls the MSR inwards


def test_msr_is_deterministic_and_batch_independent(monkeypatch):
    from neurodx.rmt import ring_law

    lam = _white(16, 64, 10)
    whole = mean_spectral_radius(lam, 16 / 63, 5, lengths=[3, 7])   # two recordings
    monkeypatch.setattr(ring_law, "_MSR_CACHE", ring_law._WindowCache())   # computed again
    parts = np.concatenate([mean_spectral_radius(lam[:3], 16 / 63, 5),
                            mean_spectral_radius(lam[3:], 16 / 63, 5)])
    np.testing.assert_array_equal(whole, parts)


def test_products_take_disjoint_windows_of_one_recording():
    idx = product_windows([12, 4], 5, step=2)
    assert idx.shape == (16, 5)
    np.testing.assert_array_equal(idx[0], [0, 2, 4, 6, 8])
    np.testing.assert_array_equal(idx[7], [7, 9, 11, 1, 3])     # wraps, still 2 apart
    first = idx[:12]
    # 50 % overlap: windows 2 apart are disjoint, and each product has 5 distinct ones
    assert all(len(set(row)) == 5 for row in first)
    assert np.all((idx[12:] >= 12) & (idx[12:] < 16))          # never the other recording
    np.testing.assert_array_equal(product_windows([3], 1, 2), [[0], [1], [2]])
    with pytest.raises(ConfigError, match="step"):
        product_windows([4], 2, step=0)
    assert ring_step(0.5) == 2 and ring_step(0.0) == 1 and ring_step(0.9) == 10


def test_msr_product_uses_the_other_windows():
    lam = _white(16, 64, 6)
    other = lam.copy()
    other[1] = _white(16, 64, 1, seed=9)[0]
    for L, changes in ((1, False), (3, True)):
        a = mean_spectral_radius(lam, 16 / 63, L, step=1)[0]
        b = mean_spectral_radius(other, 16 / 63, L, step=1)[0]
        assert (a != b) == changes


def test_msr_any_l_by_name_and_bad_l():
    assert get_test_function("msr_l3").name == "msr_l3"
    with pytest.raises(ConfigError):
        get_test_function("msr_l0")
    with pytest.raises(ConfigError):
        ring_radii(0.5, 0)


def test_ring_law_plot_reports_the_mean_spectral_radius_of_its_eigenvalues():
    # the legend's MSR comes from the plotted eigenvalues (not a second decomposition)
    from neurodx.rmt.ring_law import mean_spectral_radius, ring_eigenvalues

    lam = np.random.default_rng(3).gamma(2.0, 0.5, size=(9, 12))
    z = ring_eigenvalues(lam, 0.4, 3)
    np.testing.assert_allclose(np.abs(z).mean(), mean_spectral_radius(lam, 0.4, 3).mean(),
                               rtol=1e-12)
