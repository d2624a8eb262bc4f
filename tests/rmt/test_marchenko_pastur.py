"""The MP law and the BBP spiked model against integration and simulation."""
import numpy as np
import pytest
from scipy import integrate, stats

from neurodx.rmt import (bbp_threshold, marchenko_pastur_cdf, marchenko_pastur_edges,
                         marchenko_pastur_moments, marchenko_pastur_pdf,
                         sample_marchenko_pastur, spike_location, spike_strength)


def _pdf_integral(func, c, sigma2=1.0):
    lower, upper = marchenko_pastur_edges(c, sigma2)
    return integrate.quad(func, lower, upper, limit=200)[0]


def test_edges():
    assert marchenko_pastur_edges(0.25) == pytest.approx((0.25, 2.25))
    assert marchenko_pastur_edges(4.0, sigma2=2.0) == pytest.approx((2.0, 18.0))


@pytest.mark.parametrize("c", [0.05, 0.3, 0.9, 1.0])
def test_pdf_integrates_to_one_for_c_at_most_one(c):
    assert _pdf_integral(lambda x: marchenko_pastur_pdf(x, c), c) == pytest.approx(1, abs=1e-6)


@pytest.mark.parametrize("c", [1.5, 4.0])
def test_pdf_continuous_part_carries_one_over_c_for_c_above_one(c):
    assert _pdf_integral(lambda x: marchenko_pastur_pdf(x, c), c) == pytest.approx(1 / c, abs=1e-6)


@pytest.mark.parametrize("c, sigma2", [(0.2, 1.0), (0.7, 2.5), (1.0, 1.0), (2.5, 0.5)])
def test_cdf_is_the_integral_of_pdf_plus_the_atom(c, sigma2):
    lower, upper = marchenko_pastur_edges(c, sigma2)
    atom = max(0.0, 1 - 1 / c)
    for x in np.linspace(lower, upper, 7)[1:-1]:
        expected = atom + integrate.quad(lambda u: marchenko_pastur_pdf(u, c, sigma2), lower, x,
                                         limit=200)[0]
        assert marchenko_pastur_cdf(x, c, sigma2) == pytest.approx(expected, abs=1e-7)
    assert marchenko_pastur_cdf(-1e-9, c, sigma2) == 0.0
    assert marchenko_pastur_cdf(0.0, c, sigma2) == pytest.approx(atom)
    assert marchenko_pastur_cdf(upper * 1.01, c, sigma2) == pytest.approx(1.0)
    grid = np.linspace(-1, upper * 1.2, 500)
    assert np.all(np.diff(marchenko_pastur_cdf(grid, c, sigma2)) >= -1e-12)


@pytest.mark.parametrize("c", [0.25, 0.8, 2.0])
def test_moments_are_narayana_and_match_the_density(c):
    sigma2 = 1.7
    closed = marchenko_pastur_moments(np.arange(5), c, sigma2)
    narayana = np.array([1, 1, 1 + c, 1 + 3 * c + c ** 2, 1 + 6 * c + 6 * c ** 2 + c ** 3])
    np.testing.assert_allclose(closed, narayana * sigma2 ** np.arange(5))
    for k in range(1, 5):   # the atom at zero adds nothing for k >= 1
        numeric = _pdf_integral(lambda x: x ** k * marchenko_pastur_pdf(x, c, sigma2), c, sigma2)
        assert closed[k] == pytest.approx(numeric, rel=1e-6)


def test_wishart_sample_moments_match_closed_forms():
    n, t = 100, 400
    lam = sample_marchenko_pastur(n, t, 40, random_state=0)
    sample = np.array([np.mean(lam ** k) for k in range(1, 5)])
    closed = marchenko_pastur_moments(np.arange(1, 5), n / t)
    np.testing.assert_allclose(sample, closed, rtol=0.02)
    # exact finite-size second moment of a white Wishart: 1 + c + 1/t
    assert sample[1] == pytest.approx(1 + n / t + 1 / t, rel=3e-3)


@pytest.mark.parametrize("kind", ["covariance", "correlation"])
def test_sampled_spectra_follow_mp(kind):
    n, t = 64, 640
    lam = sample_marchenko_pastur(n, t, 20, kind=kind, random_state=1).ravel()
    ks = stats.kstest(lam, lambda x: marchenko_pastur_cdf(x, n / t)).statistic
    assert ks < 0.04
    # the same check rejects a wrong ratio, so it can fail
    assert stats.kstest(lam, lambda x: marchenko_pastur_cdf(x, 0.4)).statistic > 0.2


def test_sampling_is_seeded_and_chunked():
    a = sample_marchenko_pastur(10, 30, 7, random_state=3, chunk_elements=600)
    b = sample_marchenko_pastur(10, 30, 7, random_state=3)
    np.testing.assert_array_equal(a, b)
    assert np.all(np.diff(a, axis=1) >= 0)


def test_bbp_threshold_and_location_are_continuous():
    c = 0.2
    thr = bbp_threshold(c)
    assert thr == pytest.approx(np.sqrt(c))
    edge = marchenko_pastur_edges(c)[1]
    assert spike_location(thr, c) == pytest.approx(edge)
    assert spike_location(thr * (1 + 1e-9), c) == pytest.approx(edge)
    assert spike_location(0.1, c) == pytest.approx(edge)       # below: sticks to the edge
    assert spike_location(2.0, c) == pytest.approx(3.0 * 1.1)  # (1 + l)(1 + c / l)
    ls = np.array([0.5, 1.0, 3.0])
    np.testing.assert_allclose(spike_strength(spike_location(ls, c), c), ls)
    assert np.isnan(spike_strength(edge * 0.99, c))


@pytest.mark.parametrize("strength", [0.15, 1.0, 2.0])
def test_spike_outlier_sits_at_the_predicted_location(strength, spiked_signal):
    rng = np.random.default_rng(4)
    n, t = 200, 1000
    c = n / t
    tops = []
    for _ in range(12):
        x = spiked_signal(rng, n, t, strength)
        tops.append(np.linalg.eigvalsh(x @ x.T / t)[-1])
    predicted = spike_location(strength, c)
    # an outlier fluctuates by ~(1 + l) sqrt(2 / t) per draw: <= 0.04 for the mean of 12
    assert np.mean(tops) == pytest.approx(predicted, abs=0.12)
    if strength > bbp_threshold(c):
        # the naive guess (population eigenvalue 1 + l) is clearly wrong
        assert abs(np.mean(tops) - (1 + strength)) > 0.2


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="ratio c"):
        marchenko_pastur_pdf(1.0, 0.0)
    with pytest.raises(ValueError, match="sigma2"):
        marchenko_pastur_cdf(1.0, 0.5, sigma2=-1)
    with pytest.raises(ValueError, match="non-negative integers"):
        marchenko_pastur_moments(1.5, 0.5)
    with pytest.raises(ValueError, match="kind"):
        sample_marchenko_pastur(3, 5, kind="precision")
