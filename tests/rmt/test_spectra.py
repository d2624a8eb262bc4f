"""Window spectra: batched linear algebra, MP fit, effective sample size, the transformer."""
import mne
import numpy as np
import pytest
from joblib import parallel_config
from scipy import stats

from neurodx.errors import ConfigError
from neurodx.preprocessing import band_windows
from neurodx.rmt import (EigenSpectra, WindowSpectra, effective_sample_size,
                         marchenko_pastur_cdf, marchenko_pastur_edges, window_eigenvalues,
                         window_matrices)


def test_batched_eigenvalues_match_numpy_per_window():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((5, 8, 50)) + rng.standard_normal((5, 8, 1)) * 10   # offsets
    eig = window_eigenvalues(w, dtype=np.float64)
    for k in range(5):
        np.testing.assert_allclose(eig[k], np.linalg.eigvalsh(np.corrcoef(w[k])), atol=1e-12)
    cov = window_eigenvalues(w, "covariance", dtype=np.float64)
    for k in range(5):
        np.testing.assert_allclose(cov[k], np.linalg.eigvalsh(np.cov(w[k])), atol=1e-10)
    mats = window_matrices(w, dtype=np.float64)
    np.testing.assert_allclose(mats[2], np.corrcoef(w[2]), atol=1e-12)


def test_float32_is_close_to_float64(white_windows):
    e32 = window_eigenvalues(white_windows)
    e64 = window_eigenvalues(white_windows, dtype=np.float64)
    assert e32.dtype == np.float32
    np.testing.assert_allclose(e32, e64, atol=1e-5 * e64.max())


def test_correlation_spectra_are_invariant_to_channel_permutation_and_scaling():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 10, 100))
    w[:, 3] += w[:, 5]                                      # some structure
    ref = window_eigenvalues(w, dtype=np.float64)
    perm = rng.permutation(10)
    np.testing.assert_allclose(window_eigenvalues(w[:, perm], dtype=np.float64), ref, atol=1e-12)
    scaled = w * rng.uniform(0.1, 100, size=(1, 10, 1)) + 7.0
    np.testing.assert_allclose(window_eigenvalues(scaled, dtype=np.float64), ref, atol=1e-10)
    # covariance spectra do change with scaling (so the invariance above is not vacuous)
    assert not np.allclose(window_eigenvalues(scaled, "covariance", dtype=np.float64),
                           window_eigenvalues(w, "covariance", dtype=np.float64))


def test_flat_channel_gives_a_zero_eigenvalue():
    w = np.random.default_rng(2).standard_normal((3, 6, 40))
    w[:, 2] = 1.0
    eig, sigma2, n_flat = window_eigenvalues(w, dtype=np.float64, return_info=True)
    assert n_flat == 3
    np.testing.assert_allclose(eig[:, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(sigma2, 1.0)


def test_white_noise_correlation_spectra_match_mp(white_windows):
    spec = EigenSpectra(n_eff="nominal").fit_transform([white_windows])[0]
    n, t = 64, 640
    assert spec.n_eff[0] == t - 1                       # demeaned windows lose one dof
    lam = spec.normalized()[0].ravel()
    assert stats.kstest(lam, lambda x: marchenko_pastur_cdf(x, n / (t - 1))).statistic < 0.04
    assert stats.kstest(lam, lambda x: marchenko_pastur_cdf(x, 0.5)).statistic > 0.2


def test_effective_sample_size_white_and_ideal_band():
    rng = np.random.default_rng(3)
    t = 400
    white = rng.standard_normal((30, 16, t))
    assert effective_sample_size(white) == pytest.approx(t - 1, rel=0.03)
    # ideal band-limited noise occupying K positive-frequency bins: 2K degrees of freedom
    k = 12
    spec = np.fft.rfft(rng.standard_normal((30, 16, t)), axis=-1)
    mask = np.zeros(t // 2 + 1)
    mask[20:20 + k] = 1
    band = np.fft.irfft(spec * mask, n=t, axis=-1)
    assert effective_sample_size(band) == pytest.approx(2 * k, rel=0.1)


def test_spectral_n_eff_puts_the_mp_edge_where_filtered_noise_ends():
    rng = np.random.default_rng(4)
    sfreq, n_ch = 250.0, 24
    x = rng.standard_normal((n_ch, int(120 * sfreq)))
    _, windows = next(band_windows(x, {"alpha": (8.0, 13.0)}, sfreq=sfreq))
    t_eff = effective_sample_size(windows)
    assert 15 < t_eff < 60                       # ~2 * 5 Hz * 2 s plus transition bands
    lam = window_eigenvalues(windows, dtype=np.float64)
    _, edge = marchenko_pastur_edges(n_ch / t_eff)
    assert np.mean(lam > edge) < 0.01
    # against the nominal T (500 samples) almost every window "has signal": wrong
    _, nominal_edge = marchenko_pastur_edges(n_ch / (windows.shape[-1] - 1))
    assert np.mean(lam > nominal_edge) > 0.2


def test_eigenspectra_on_raw_and_array_agree():
    rng = np.random.default_rng(5)
    sfreq = 100.0
    data = rng.standard_normal((6, 3000)) * 1e-5
    raw = mne.io.RawArray(data, mne.create_info(6, sfreq, "eeg"), verbose="ERROR")
    bands = {"theta": (4.0, 8.0), "beta": (13.0, 30.0)}
    est = EigenSpectra(bands=bands, sfreq=sfreq, window=2.0, overlap=0.5)
    from_raw, from_array = est.fit_transform([raw, data])
    assert isinstance(from_raw, WindowSpectra)
    assert from_raw.bands == ("theta", "beta")
    assert from_raw.eigenvalues.shape == (2, 29, 6)
    assert from_raw.n_samples == 200
    np.testing.assert_allclose(from_raw.eigenvalues, from_array.eigenvalues, atol=1e-5)
    np.testing.assert_allclose(from_raw.eigenvalues.sum(axis=-1), 6.0, rtol=1e-5)  # trace N


def test_windowed_input_is_one_broadband_band(white_windows):
    spec = EigenSpectra().fit_transform([white_windows[:5], white_windows[5:]])
    assert [s.bands for s in spec] == [("broadband",), ("broadband",)]
    assert spec[0].eigenvalues.shape == (1, 5, 64)
    assert spec[1].n_windows == 15


def test_window_spectra_properties(white_windows):
    spec = EigenSpectra(kind="covariance", n_eff=320.0).fit_transform([white_windows * 3.0])[0]
    assert spec.ratio[0] == pytest.approx(0.2)
    assert spec.mp_upper_edge[0] == pytest.approx((1 + np.sqrt(0.2)) ** 2)
    np.testing.assert_allclose(spec.sigma2, 9.0, rtol=0.05)
    np.testing.assert_allclose(spec.normalized().mean(axis=-1), 1.0, rtol=1e-5)
    assert spec.n_above_edge().shape == (1, 20)


def test_n_eff_mapping_and_errors(white_windows):
    est = EigenSpectra(n_eff={"broadband": 100})
    assert est.fit_transform([white_windows])[0].n_eff[0] == 100
    with pytest.raises(ConfigError, match="no entry for band"):
        EigenSpectra(n_eff={"alpha": 100}).fit_transform([white_windows])
    with pytest.raises(ConfigError, match="n_eff must be"):
        EigenSpectra(n_eff="welch").fit_transform([white_windows])
    with pytest.raises(ConfigError, match="sfreq is required"):
        EigenSpectra().fit_transform([np.zeros((4, 1000))])
    with pytest.raises(ConfigError, match="kind"):
        EigenSpectra(kind="precision").fit([white_windows])
    with pytest.raises(ConfigError, match="as an array must be"):
        EigenSpectra().fit(white_windows[0])
    with pytest.raises(ConfigError, match="sequence of subjects"):
        EigenSpectra().fit(mne.io.RawArray(np.zeros((2, 10)), mne.create_info(2, 10.0),
                                           verbose="ERROR"))
    with pytest.raises(ConfigError, match="subject 1"):
        EigenSpectra().fit([white_windows, np.zeros(5)])


def test_parallel_over_subjects_gives_the_same_result(white_windows):
    x = [white_windows[:10], white_windows[10:]]
    seq = EigenSpectra(n_jobs=1).fit_transform(x)
    # threads exercise the joblib path without paying for worker processes in the tests
    with parallel_config(backend="threading"):
        par = EigenSpectra(n_jobs=2).fit_transform(x)
    for a, b in zip(seq, par):
        # float32 BLAS sums may be ordered differently across workers
        np.testing.assert_allclose(a.eigenvalues, b.eigenvalues, atol=1e-5)
        assert a.bands == b.bands


def test_estimator_api(api_checks):
    api_checks(EigenSpectra())
