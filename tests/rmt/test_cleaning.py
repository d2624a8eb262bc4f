"""Covariance cleaning: MP clipping and Ledoit-Wolf (2020) analytical nonlinear shrinkage."""
import numpy as np
import pytest
from scipy.stats import ortho_group

from neurodx.rmt import (analytic_nonlinear_shrinkage, clip_eigenvalues, clip_spectrum,
                         marchenko_pastur_edges, shrink_spectrum)


def _sample_cov(rng, pop_eigs, n, rotate=True):
    """Sample covariance X^T X / n of n Gaussian draws (mean known to be zero)."""
    p = len(pop_eigs)
    q = ortho_group.rvs(p, random_state=rng) if rotate else np.eye(p)
    sigma = (q * pop_eigs) @ q.T
    x = rng.standard_normal((n, p)) @ (q * np.sqrt(pop_eigs)).T
    return x.T @ x / n, sigma


def _frobenius(a, b):
    return np.linalg.norm(a - b, axis=(-2, -1))


def test_clip_keeps_outliers_and_trace_and_averages_the_bulk():
    c = 0.25
    _, edge = marchenko_pastur_edges(c)
    lam = np.array([0.3, 0.8, 1.1, 1.9, 4.0, 7.0])
    out = clip_spectrum(lam, c)
    bulk = lam <= edge
    np.testing.assert_allclose(out[~bulk], lam[~bulk])
    np.testing.assert_allclose(out[bulk], lam[bulk].mean())
    assert out.sum() == pytest.approx(lam.sum())


def test_clip_eigenvalues_matrix_properties():
    rng = np.random.default_rng(0)
    pop = np.r_[8.0, 4.0, np.ones(38)]
    S, sigma = _sample_cov(rng, pop, 100)
    C = clip_eigenvalues(S, 100)
    assert np.trace(C) == pytest.approx(np.trace(S))
    np.testing.assert_allclose(C, C.T)
    assert np.linalg.eigvalsh(C).min() > 0
    np.testing.assert_allclose(C @ S, S @ C, atol=1e-10)       # same eigenvectors
    assert _frobenius(C, sigma) < _frobenius(S, sigma)


def test_clipping_white_data_gives_nearly_the_identity():
    rng = np.random.default_rng(1)
    S, sigma = _sample_cov(rng, np.ones(50), 200, rotate=False)
    C = clip_eigenvalues(S, 200)
    assert _frobenius(C, sigma) < 0.25 * _frobenius(S, sigma)


@pytest.mark.parametrize("p, n", [(100, 300), (100, 60)])
def test_nonlinear_shrinkage_beats_the_sample_covariance(p, n):
    rng = np.random.default_rng(2)
    pop = np.geomspace(1.0, 10.0, p)          # known, dispersed population spectrum
    losses_s, losses_lw = [], []
    for _ in range(3):
        S, sigma = _sample_cov(rng, pop, n)
        L = analytic_nonlinear_shrinkage(S, n)
        assert np.linalg.eigvalsh(L).min() > 0
        losses_s.append(_frobenius(S, sigma))
        losses_lw.append(_frobenius(L, sigma))
    # a clear margin, in every draw
    assert np.all(np.array(losses_lw) < 0.8 * np.array(losses_s))


def test_nonlinear_shrinkage_concentrates_an_identity_population():
    rng = np.random.default_rng(3)
    S, _ = _sample_cov(rng, np.ones(200), 400, rotate=False)
    lam = np.linalg.eigvalsh(S)
    shrunk = shrink_spectrum(lam, 400)
    assert np.ptp(shrunk) < 0.25 * np.ptp(lam)
    assert np.mean(shrunk) == pytest.approx(1.0, abs=0.05)
    # No order assertion: the published estimator does not enforce monotonicity
    # (Ledoit & Wolf 2020 leave it to the kernel), and we transcribe it faithfully.


def test_nonlinear_shrinkage_matches_a_direct_transcription():
    # Ledoit & Wolf (2020), Matlab code of Section 4 / Appendix C, written out loop by loop
    rng = np.random.default_rng(4)
    for p, n in ((15, 40), (40, 20)):
        S, _ = _sample_cov(rng, np.linspace(1, 5, p), n)
        lam = np.linalg.eigvalsh(S)
        lam_nz = lam[max(0, p - n):]
        m, h = len(lam_nz), n ** (-1 / 3)
        f = np.zeros(m)
        hf = np.zeros(m)
        for i in range(m):
            for j in range(m):
                bw = h * lam_nz[j]
                x = (lam_nz[i] - lam_nz[j]) / bw
                f[i] += 3 / (4 * np.sqrt(5)) * max(1 - x * x / 5, 0) / bw / m
                if abs(x) == np.sqrt(5):
                    hf[i] += -3 / (10 * np.pi) * x / bw / m
                else:
                    hf[i] += (-3 / (10 * np.pi) * x + 3 / (4 * np.sqrt(5) * np.pi) * (1 - x * x / 5)
                              * np.log(abs((np.sqrt(5) - x) / (np.sqrt(5) + x)))) / bw / m
        if p <= n:
            c = p / n
            expected = lam_nz / ((np.pi * c * lam_nz * f) ** 2
                                 + (1 - c - np.pi * c * lam_nz * hf) ** 2)
        else:
            hf0 = (1 / np.pi) * (3 / (10 * h * h) + 3 / (4 * np.sqrt(5) * h) * (1 - 1 / (5 * h * h))
                                 * np.log((1 + np.sqrt(5) * h) / (1 - np.sqrt(5) * h))) \
                * np.mean(1 / lam_nz)
            d0 = 1 / (np.pi * (p - n) / n * hf0)
            expected = np.r_[np.full(p - n, d0), lam_nz / (np.pi ** 2 * lam_nz ** 2 * (f ** 2 + hf ** 2))]
        np.testing.assert_allclose(shrink_spectrum(lam, n), expected, rtol=1e-10)


def _published_shrinkage_mp(lam, n, dps=50):
    """The published LW 2020 formula (Matlab code of Section 4 / Appendix C), evaluated
    in ``dps``-digit arithmetic (mpmath) on the given float64 eigenvalues."""
    import mpmath as mp   # a test dependency (pyproject: test extra)
    with mp.workdps(dps):
        lam = [mp.mpf(float(v)) for v in lam]
        p = len(lam)
        lam_nz = lam[max(0, p - n):]
        m, h, s5 = len(lam_nz), mp.mpf(n) ** (mp.mpf(-1) / 3), mp.sqrt(5)
        f, hf = [], []
        for li in lam_nz:
            fi = hi = mp.mpf(0)
            for lj in lam_nz:
                bw = h * lj
                x = (li - lj) / bw
                fi += 3 / (4 * s5) * max(1 - x * x / 5, 0) / bw
                log_term = 0 if abs(x) == s5 else mp.log(abs((s5 - x) / (s5 + x)))
                hi += (-3 / (10 * mp.pi) * x
                       + 3 / (4 * s5 * mp.pi) * (1 - x * x / 5) * log_term) / bw
            f.append(fi / m)
            hf.append(hi / m)
        if p <= n:
            c = mp.mpf(p) / n
            return np.array([float(v / ((mp.pi * c * v * a) ** 2
                                        + (1 - c - mp.pi * c * v * b) ** 2))
                             for v, a, b in zip(lam_nz, f, hf)])
        hf0 = (1 / mp.pi) * (3 / (10 * h * h) + 3 / (4 * s5 * h) * (1 - 1 / (5 * h * h))
                             * mp.log((1 + s5 * h) / (1 - s5 * h))) \
            * mp.fsum(1 / v for v in lam_nz) / m
        d0 = float(1 / (mp.pi * mp.mpf(p - n) / n * hf0))
        return np.array([d0] * (p - n) + [float(v / (mp.pi ** 2 * v ** 2 * (a * a + b * b)))
                                          for v, a, b in zip(lam_nz, f, hf)])


@pytest.mark.parametrize("p, n, ratio", [(100, 100, 3.4e-6), (100, 100, 1e-9), (100, 100, 1e-12),
                                         (100, 50, 1e-12)])
def test_nonlinear_shrinkage_is_accurate_with_a_tiny_smallest_eigenvalue(p, n, ratio):
    # A near-singular covariance (an interpolated channel, an average reference): the
    # smallest non-null eigenvalue is `ratio` times the mean. p > n is the rank-deficient
    # branch (p - n null eigenvalues). Reference: the published formula in 50 digits.
    rng = np.random.default_rng(int(-np.log10(ratio)) + p + n)
    x = rng.standard_normal((n, p))
    lam = np.linalg.eigvalsh(x.T @ x / n)
    k = max(0, p - n)
    lam[k] = ratio * lam[k:].mean()
    lam = np.sort(lam)
    expected = _published_shrinkage_mp(lam, n)
    got = shrink_spectrum(lam, n)
    assert np.all(np.isfinite(got)) and np.all(got > 0)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0)


def test_nonlinear_shrinkage_is_scale_equivariant_over_many_decades():
    # EEG in volts gives covariances ~1e-10: the result must not depend on the unit.
    rng = np.random.default_rng(8)
    S, _ = _sample_cov(rng, np.linspace(1, 5, 30), 80)
    lam = np.linalg.eigvalsh(S)
    for scale in (1e-12, 1e12):
        np.testing.assert_allclose(shrink_spectrum(scale * lam, 80),
                                   scale * shrink_spectrum(lam, 80), rtol=1e-12)


def test_cleaning_is_rotation_equivariant_and_batched():
    rng = np.random.default_rng(5)
    S = np.stack([_sample_cov(rng, np.linspace(1, 3, 20), 60)[0] for _ in range(3)])
    q = ortho_group.rvs(20, random_state=rng)
    for clean in (lambda a: analytic_nonlinear_shrinkage(a, 60), lambda a: clip_eigenvalues(a, 60)):
        batched = clean(S)
        np.testing.assert_allclose(batched[1], clean(S[1]), atol=1e-12)
        np.testing.assert_allclose(clean(q @ S[0] @ q.T), q @ batched[0] @ q.T, atol=1e-10)


def test_invalid_input_raises():
    S = np.eye(5)
    with pytest.raises(ValueError, match="n_samples >= 12"):
        analytic_nonlinear_shrinkage(S, 10)
    with pytest.raises(ValueError, match="rank"):
        analytic_nonlinear_shrinkage(np.diag([0.0, 1, 1, 1, 1]), 50)
    with pytest.raises(ValueError, match="square"):
        clip_eigenvalues(np.ones((3, 4)), 10)
    with pytest.raises(ValueError, match="ascending"):
        shrink_spectrum(np.array([2.0, 1.0]), 50)
