"""One band representation per recording: FFT band scatter matrices, T_eff, sharing."""
import mne
import numpy as np
import pytest
from scipy import stats

import neurodx.rmt._inputs as inputs
import neurodx.rmt.band_fft as bsmod
from neurodx.errors import ConfigError
from neurodx.rmt import (BandScatter, EigenSpectra, RMTCovariances, band_scatter,
                         marchenko_pastur_cdf, recording_band_scatter, shared_band_scatter)

BANDS = {"theta": (4.0, 8.0), "beta": (13.0, 30.0)}


def _ideal_band(windows, sfreq, edges):
    """Reference: each window demeaned, bins outside [lo, hi] zeroed, back to time."""
    x = windows - windows.mean(axis=-1, keepdims=True)
    spec = np.fft.rfft(x, axis=-1)
    f = np.fft.rfftfreq(x.shape[-1], 1 / sfreq)
    spec[..., (f < edges[0]) | (f > edges[1])] = 0
    return np.fft.irfft(spec, n=x.shape[-1], axis=-1)


def test_broadband_scatter_is_the_demeaned_time_domain_scatter():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 5, 101)) + 3.0              # odd length: no Nyquist bin
    x = w - w.mean(axis=-1, keepdims=True)
    ref = x @ x.transpose(0, 2, 1)
    bs = band_scatter(w, dtype=np.float64)
    np.testing.assert_allclose(bs.scatter[0], ref, atol=1e-9)
    w_even = w[..., :100]
    x = w_even - w_even.mean(axis=-1, keepdims=True)
    np.testing.assert_allclose(band_scatter(w_even, dtype=np.float64).scatter[0],
                               x @ x.transpose(0, 2, 1), atol=1e-9)


def test_band_scatter_is_the_scatter_of_the_ideal_band_pass():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 6, 200))
    bs = band_scatter(w, BANDS, sfreq=100.0, dtype=np.float64)
    for b, edges in enumerate(BANDS.values()):
        xb = _ideal_band(w, 100.0, edges)
        np.testing.assert_allclose(bs.scatter[b], xb @ xb.transpose(0, 2, 1), atol=1e-9)


def test_white_noise_band_has_exactly_2k_samples_and_mp_spectra():
    # K interior bins of white noise = 2K independent Gaussians (real, imaginary parts):
    # the band's window covariances are Wishart(2K) and their spectrum is MP(N / 2K)
    rng = np.random.default_rng(2)
    sfreq, n_s, n_ch = 100.0, 400, 12
    x = rng.standard_normal((n_ch, 400 * n_s // 2 + n_s // 2))
    bs = recording_band_scatter(x, {"beta": (13.0, 30.0)}, sfreq=sfreq, window=n_s / sfreq,
                                overlap=0.5, dtype=np.float64)
    k = np.count_nonzero((np.fft.rfftfreq(n_s, 1 / sfreq) >= 13) &
                         (np.fft.rfftfreq(n_s, 1 / sfreq) <= 30))
    assert bs.power_ratio[0] == pytest.approx(2 * k, rel=0.02)
    spectra = EigenSpectra(bands={"beta": (13.0, 30.0)}, sfreq=sfreq, window=n_s / sfreq,
                           overlap=0.0, kind="covariance", dtype="float64").fit_transform([x])[0]
    lam = spectra.normalized()[0].ravel()
    c = n_ch / spectra.n_eff[0]
    assert stats.kstest(lam, lambda v: marchenko_pastur_cdf(v, c)).pvalue > 1e-3
    # the nominal T - 1 would put the edge far too low: the test can fail
    assert stats.kstest(lam, lambda v: marchenko_pastur_cdf(v, n_ch / (n_s - 1))).pvalue < 1e-6


def test_float32_matches_the_float64_reference():
    # stated tolerance: eigenvalues within 1e-4 of the largest, cleaned covariances
    # within 1e-4 relative (float32 FFT and products, float64 pooling and cleaning)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 6000)).cumsum(axis=1) * 1e-6     # EEG-like scale, 1/f^2
    kw = dict(bands=BANDS, sfreq=100.0, window=2.0, overlap=0.5)
    e32 = EigenSpectra(dtype="float32", **kw).fit_transform([x])[0]
    e64 = EigenSpectra(dtype="float64", **kw).fit_transform([x])[0]
    assert e32.eigenvalues.dtype == np.float32
    np.testing.assert_allclose(e32.eigenvalues, e64.eigenvalues,
                               atol=1e-4 * e64.eigenvalues.max())
    np.testing.assert_allclose(e32.n_eff, e64.n_eff, rtol=1e-4)
    c32 = RMTCovariances(method="nonlinear", dtype="float32", **kw).fit_transform([x])
    c64 = RMTCovariances(method="nonlinear", dtype="float64", **kw).fit_transform([x])
    np.testing.assert_allclose(c32, c64, rtol=1e-4, atol=1e-4 * np.abs(c64).max())


def test_streaming_in_chunks_gives_the_same_matrices(monkeypatch):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 5000))
    whole = recording_band_scatter(x, BANDS, sfreq=100.0, window=2.0, overlap=0.5,
                                   dtype=np.float64)
    monkeypatch.setattr(bsmod, "_CHUNK_ELEMENTS", 8 * 200 * 3)      # 3 windows a chunk
    chunked = recording_band_scatter(x, BANDS, sfreq=100.0, window=2.0, overlap=0.5,
                                     dtype=np.float64)
    np.testing.assert_allclose(chunked.scatter, whole.scatter, atol=1e-10)
    np.testing.assert_allclose(chunked.power_ratio, whole.power_ratio, rtol=1e-12)
    raw = mne.io.RawArray(x, mne.create_info(8, 100.0, "eeg"), verbose="ERROR")
    from_raw = recording_band_scatter(raw, BANDS, window=2.0, overlap=0.5, dtype=np.float64)
    np.testing.assert_allclose(from_raw.scatter, whole.scatter, atol=1e-10)


def test_one_pass_per_recording_shared_by_spectra_and_covariances(monkeypatch):
    calls = {"scatter": 0, "filter": 0}
    real_scatter, real_filter = bsmod.band_scatter, mne.filter.filter_data

    def spy_scatter(*a, **k):
        calls["scatter"] += 1
        return real_scatter(*a, **k)

    def spy_filter(*a, **k):
        calls["filter"] += 1
        return real_filter(*a, **k)

    monkeypatch.setattr(bsmod, "band_scatter", spy_scatter)
    monkeypatch.setattr(mne.filter, "filter_data", spy_filter)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 4000))
    spectra_step = EigenSpectra(bands=BANDS, sfreq=100.0, overlap=0.5)
    # a fixed n_eff: the spectral estimate averages over the shared grid's windows
    cov_step = RMTCovariances(method="nonlinear", bands=BANDS, sfreq=100.0, overlap=0.0,
                              n_eff=30.0)
    shared, usable = shared_band_scatter(x, [spectra_step, cov_step, None])
    assert isinstance(shared, BandScatter) and usable == [True, True, False]
    spectra = spectra_step.fit_transform([shared])[0]
    covs = cov_step.fit_transform([shared])
    assert calls == {"scatter": 1, "filter": 0}
    # the coarser grid (no overlap) is every other window of the shared 50 % grid
    np.testing.assert_allclose(covs, cov_step.fit_transform([x]), rtol=1e-10)
    np.testing.assert_array_equal(spectra.eigenvalues,
                                  spectra_step.fit_transform([x])[0].eigenvalues)


def test_shared_matrices_refuse_a_step_they_do_not_fit():
    x = np.random.default_rng(6).standard_normal((4, 2000))
    shared = recording_band_scatter(x, BANDS, sfreq=100.0, window=2.0, overlap=0.0)
    with pytest.raises(ConfigError, match="shared band matrices"):
        EigenSpectra(bands=BANDS, sfreq=100.0, overlap=0.5).fit_transform([shared])
    with pytest.raises(ConfigError, match="shared band matrices"):
        EigenSpectra(bands={"alpha": (8.0, 13.0)}, sfreq=100.0).fit_transform([shared])
    # steps on different windows are not forced to share
    assert shared_band_scatter(x, [EigenSpectra(sfreq=100.0, bands=BANDS, window=1.0),
                                   EigenSpectra(sfreq=100.0, bands=BANDS)])[0] is None
    assert inputs.shared_grid(200, 100, 100.0, 2.0, 0.0) == 2


def test_a_band_without_bins_and_a_band_above_nyquist_are_config_errors():
    x = np.zeros((3, 1000))
    x[:] = np.random.default_rng(7).standard_normal((3, 1000))
    with pytest.raises(ConfigError, match="holds no frequency bin"):
        recording_band_scatter(x, {"narrow": (10.1, 10.2)}, sfreq=100.0, window=2.0)
    with pytest.raises(ConfigError, match="Nyquist"):
        recording_band_scatter(x, {"high": (40.0, 60.0)}, sfreq=100.0, window=2.0)
