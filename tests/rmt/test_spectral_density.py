"""Pooled windows under an MP-ratio bound and learned test functions (SpectralDensity)."""
import mne
import numpy as np
import pytest

from neurodx.errors import ConfigError
from neurodx.rmt import WindowSpectra, effective_sample_size, window_eigenvalues
from neurodx.rmt.spectral_density import (SpectralDensity, pool_window_scatter,
                                          pooled_window_count)


@pytest.mark.parametrize("n_ch, bw, block, c_max", [(19, 5, 2, 0.5), (64, 3, 1, 0.5),
                                                    (8, 15, 2, 0.25), (2, 40, 4, 1.0)])
def test_pooled_window_count_is_the_smallest_meeting_the_bound(n_ch, bw, block, c_max):
    k = pooled_window_count(n_ch, bw, block, c_max=c_max)
    assert n_ch / (2 * bw * block * k) <= c_max
    assert k == 1 or n_ch / (2 * bw * block * (k - 1)) > c_max


def test_chosen_pooling_respects_the_bound_on_filtered_noise():
    rng = np.random.default_rng(0)
    sfreq, n_ch, block = 128.0, 12, 2.0
    x = mne.filter.filter_data(rng.standard_normal((n_ch, int(60 * sfreq))), sfreq, 8, 13,
                               verbose="ERROR")
    n_blk = int(block * sfreq)
    blocks = x[:, : (x.shape[1] // n_blk) * n_blk].reshape(n_ch, -1, n_blk).transpose(1, 0, 2)
    k = pooled_window_count(n_ch, 5.0, block, c_max=0.5)
    assert n_ch / (k * effective_sample_size(blocks)) <= 0.5


def test_pooled_correlation_is_the_correlation_of_the_pooled_blocks():
    rng = np.random.default_rng(1)
    blocks = rng.standard_normal((7, 4, 50))
    mats, sigma2 = pool_window_scatter(blocks, 3, "correlation")
    assert mats.shape == (2, 4, 4)             # remainder block dropped
    np.testing.assert_allclose(sigma2, 1.0)
    x = blocks[:3] - blocks[:3].mean(axis=-1, keepdims=True)
    scatter = sum(b @ b.T for b in x)
    d = np.sqrt(np.diag(scatter))
    np.testing.assert_allclose(mats[0], scatter / np.outer(d, d))
    cov, s2 = pool_window_scatter(blocks, 10, "covariance")   # fewer blocks than k
    assert cov.shape == (1, 4, 4)
    np.testing.assert_allclose(s2, np.trace(cov[0]) / 4)


def _spectra(rng, n_sub, perm=None, n_ch=6):
    out = []
    for _ in range(n_sub):
        w = rng.standard_normal((5, n_ch, 80))
        w[:, 0] += 2 * w[:, 1]
        if perm is not None:
            w = w[:, perm]
        eig = np.stack([window_eigenvalues(w, dtype=np.float64)] * 2)
        out.append(WindowSpectra(eig, np.ones((2, 5)), ("a", "b"), 80, np.array([60.0, 40.0])))
    return out


def test_histogram_density_sums_to_one_per_band_and_ignores_channel_order():
    X = _spectra(np.random.default_rng(2), 4)
    est = SpectralDensity(n_bins=10).fit(X)
    F = est.transform(X)
    assert F.shape == (4, 20)
    np.testing.assert_allclose(F.reshape(4, 2, 10).sum(axis=-1), 1.0)
    Xp = _spectra(np.random.default_rng(2), 4, perm=np.array([3, 1, 5, 0, 2, 4]))
    np.testing.assert_allclose(est.transform(Xp), F, atol=1e-12)
    assert list(est.get_feature_names_out()[:2]) == ["a_histogram0", "a_histogram1"]


def test_chebyshev_moments_are_bounded_and_the_ratio_is_learnt_from_training():
    X = _spectra(np.random.default_rng(3), 3)
    est = SpectralDensity(basis="chebyshev", degree=5).fit(X)
    np.testing.assert_allclose(est.ratio_, [6 / 60, 6 / 40])
    F = est.transform(X)
    assert F.shape == (3, 10) and np.all(np.abs(F) <= 1)
    with pytest.raises(ConfigError, match="basis"):
        SpectralDensity(basis="spline").fit(X)
