"""Tracy-Widom laws and the largest-eigenvalue test."""
import numpy as np
import pytest
from scipy import stats

from neurodx.rmt import (johnstone_scaling, largest_eigenvalue_test, sample_marchenko_pastur,
                         tracy_widom_cdf, tracy_widom_sf)


@pytest.mark.parametrize("beta, mean, sd", [(1, -1.2065335746, 1.2679830), (2, -1.7710868074, 0.9017732)])
def test_tracy_widom_mean_and_sd(beta, mean, sd):
    # reference values: Tracy & Widom (1996), Bornemann (2010, Table 10)
    s = np.linspace(-8.0, 7.0, 301)
    cdf = tracy_widom_cdf(s, beta)
    mid = (s[1:] + s[:-1]) / 2
    prob = np.diff(cdf)
    assert np.sum(prob * mid) == pytest.approx(mean, abs=2e-3)
    assert np.sqrt(np.sum(prob * (mid - mean) ** 2)) == pytest.approx(sd, abs=5e-3)


def test_tracy_widom_1_quantiles_match_johnstone_table():
    # Johnstone (2001), Table 1: TW1 percentiles
    s = np.array([-3.8954, -3.1804, -2.7824, 0.4501, 0.9793, 2.0234])
    expected = np.array([0.01, 0.05, 0.10, 0.90, 0.95, 0.99])
    np.testing.assert_allclose(tracy_widom_cdf(s, 1), expected, atol=2e-4)


def test_survival_function_is_the_complement_and_keeps_small_tails():
    s = np.linspace(-4, 6, 11)
    np.testing.assert_allclose(tracy_widom_cdf(s) + tracy_widom_sf(s), 1.0, atol=1e-12)
    far = tracy_widom_sf(np.array([6.0, 8.0, 10.0]))
    assert np.all(far > 0) and np.all(np.diff(far) < 0)
    with pytest.raises(ValueError, match="beta"):
        tracy_widom_cdf(0.0, beta=4)


def test_johnstone_scaling_formula():
    mu, sigma = johnstone_scaling(n=5, t=10)
    assert mu == pytest.approx((3 + np.sqrt(5)) ** 2)
    assert sigma == pytest.approx((3 + np.sqrt(5)) * (1 / 3 + 1 / np.sqrt(5)) ** (1 / 3))


def _null_lmax(kind, n, t, size, seed):
    return sample_marchenko_pastur(n, t, size, kind=kind, random_state=seed)[:, -1]


@pytest.mark.parametrize("n, t", [(20, 200), (64, 40)])
def test_tracy_widom_test_is_calibrated_for_covariances(n, t):
    p = largest_eigenvalue_test(_null_lmax("covariance", n, t, 300, 1), n, t)
    assert 0.02 <= np.mean(p < 0.05) <= 0.08
    assert 0.06 <= np.mean(p < 0.10) <= 0.15


def test_tracy_widom_test_is_conservative_for_correlations():
    # documented: same limit, slow and conservative approach at small sizes
    p = largest_eigenvalue_test(_null_lmax("correlation", 20, 200, 300, 2), 20, 200,
                                kind="correlation")
    assert np.mean(p < 0.05) <= 0.05


@pytest.mark.parametrize("kind", ["covariance", "correlation"])
def test_monte_carlo_test_is_calibrated(kind):
    lmax = _null_lmax(kind, 20, 60, 300, 3)
    p = largest_eigenvalue_test(lmax, 20, 60, kind=kind, method="monte-carlo", n_draws=800,
                                random_state=4)
    assert stats.kstest(p, "uniform").pvalue > 0.01
    again = largest_eigenvalue_test(lmax, 20, 60, kind=kind, method="monte-carlo", n_draws=800,
                                    random_state=4)
    np.testing.assert_array_equal(p, again)


@pytest.mark.parametrize("method", ["tracy-widom", "monte-carlo"])
def test_a_spike_above_threshold_is_detected(method, spiked_signal):
    rng = np.random.default_rng(5)
    n, t = 20, 200                       # c = 0.1, BBP threshold 0.32
    x = spiked_signal(rng, n, t, 1.0)
    lmax = np.linalg.eigvalsh(x @ x.T / t)[-1]
    assert largest_eigenvalue_test(lmax, n, t, method=method, n_draws=999) < 1e-2
    # white data of the same size give spread-out p-values
    w = rng.standard_normal((10, n, t))
    p_white = largest_eigenvalue_test(np.linalg.eigvalsh(w @ w.transpose(0, 2, 1) / t)[:, -1],
                                      n, t, method=method, n_draws=999)
    assert 0.15 < np.median(p_white) < 0.85


def test_invalid_method():
    with pytest.raises(ValueError, match="method"):
        largest_eigenvalue_test(3.0, 10, 50, method="bootstrap")


def test_tracy_widom_edge_sits_just_above_the_mp_edge():
    from neurodx.rmt import marchenko_pastur_edges, tracy_widom_edge, tracy_widom_isf

    assert float(tracy_widom_sf(tracy_widom_isf(0.01))) == pytest.approx(0.01, rel=1e-3)
    edge = tracy_widom_edge(64, 500)
    upper = marchenko_pastur_edges(64 / 500)[1]
    assert upper < edge < 1.1 * upper
    assert tracy_widom_edge(64, 5000) - marchenko_pastur_edges(64 / 5000)[1] < edge - upper
