"""One band representation per recording: FFT band scatter matrices, T_eff, sharing."""
import mne
import numpy as np
import pytest

import neurodx.rmt._inputs as inputs
import neurodx.rmt.band_fft as bsmod
from neurodx.errors import ConfigError
from neurodx.preprocessing import band_windows, sliding_windows
from neurodx.rmt import (BandScatter, EigenSpectra, RMTCovariances, effective_sample_size,
                         recording_band_scatter, shared_band_scatter, windows_scatter)

BANDS = {"theta": (4.0, 8.0), "beta": (13.0, 30.0)}


def _mne_band_windows(x, sfreq, edges, n_win, step):
    """Reference: MNE's FIR filter of the whole recording, then windows (float64)."""
    band = mne.filter.filter_data(x, sfreq, edges[0], edges[1], verbose="ERROR")
    return sliding_windows(band, n_win, step)


def _corr(scatter):
    d = np.sqrt(np.einsum("...ii->...i", scatter))
    return scatter / d[..., :, None] / d[..., None, :]


def test_windowed_input_scatter_is_the_demeaned_time_domain_scatter():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 5, 101)) + 3.0
    x = w - w.mean(axis=-1, keepdims=True)
    bs = windows_scatter(w, dtype=np.float64)
    np.testing.assert_allclose(bs.scatter[0], x @ x.transpose(0, 2, 1), atol=1e-9)
    assert bs.bands == ("broadband",) and bs.band_samples[0] == 101


@pytest.fixture
def eeg_like():
    """SYNTHETIC 1/f^2 signals, 8 channels x 60 s at 100 Hz, band-limited to 1-45 Hz."""
    x = np.random.default_rng(1).standard_normal((8, 6000)).cumsum(axis=1) * 1e-6
    return mne.filter.filter_data(x, 100.0, 1.0, 45.0, verbose="ERROR")


def test_without_decimation_the_bands_are_mne_fir_filtered_signals(eeg_like, monkeypatch):
    # one FFT of the padded recording x MNE's own FIR response = MNE's filter, ends
    # included
    monkeypatch.setattr(bsmod, "_decimation", lambda *a: 1)
    bs = recording_band_scatter(eeg_like, BANDS, sfreq=100.0, window=2.0, overlap=0.5,
                                dtype=np.float64)
    for b, edges in enumerate(BANDS.values()):
        w = _mne_band_windows(eeg_like, 100.0, edges, 200, 100)
        x = w - w.mean(axis=-1, keepdims=True)
        ref = x @ x.transpose(0, 2, 1)
        np.testing.assert_allclose(bs.scatter[b], ref, atol=1e-6 * np.abs(ref).max())
        assert bs.power_ratio[b] == pytest.approx(effective_sample_size(w), rel=1e-3)


def test_decimated_bands_agree_with_the_fir_route_within_the_stated_tolerance(eeg_like):
    # stated tolerance of the decimated band signals (a rectangle rule over T / q
    # samples instead of T, T / q >= 200): window correlations within 0.05 (their
    # sampling noise is ~1 / sqrt(T_eff) ~ 0.2), pooled band correlations within 2e-3,
    # T_eff within 1 %
    bs = recording_band_scatter(eeg_like, BANDS, sfreq=100.0, window=4.0, overlap=0.5,
                                dtype=np.float64)
    assert bs.band_samples[0] < 400                      # theta was decimated
    for b, edges in enumerate(BANDS.values()):
        w = _mne_band_windows(eeg_like, 100.0, edges, 400, 200)
        x = w - w.mean(axis=-1, keepdims=True)
        ref = x @ x.transpose(0, 2, 1)
        inner = slice(None)
        assert np.abs(_corr(bs.scatter[b][inner]) - _corr(ref[inner])).max() < 0.05
        assert np.abs(_corr(bs.scatter[b][inner].sum(0)) - _corr(ref[inner].sum(0))).max() < 2e-3
        np.testing.assert_allclose(bs.covariances(b)[inner].mean(0),
                                   ref[inner].mean(0) / 399, rtol=0.05,
                                   atol=0.05 * np.abs(ref[inner].mean(0) / 399).max())
        assert bs.power_ratio[b] == pytest.approx(effective_sample_size(w), rel=0.01)


def test_white_noise_bands_are_mp_consistent_with_the_spectral_n_eff():
    # band-passed white noise: with T_eff from the band (not the nominal T - 1) the
    # covariance spectra stay inside the MP bulk (the check can fail: nominal T - 1
    # puts most eigenvalues above the edge)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((12, 40000))
    spectra = EigenSpectra(bands={"beta": (13.0, 30.0)}, sfreq=100.0, window=8.0,
                           overlap=0.0, kind="covariance",
                           dtype="float64").fit_transform([x])[0]
    lam = spectra.normalized()[0]
    assert np.mean(lam > spectra.mp_upper_edge[0] * 1.1) < 0.01
    c = spectra.n_channels / spectra.n_eff[0]
    mean_sq = np.mean(np.sum(lam ** 2, axis=-1) / lam.shape[-1])
    assert mean_sq - 1 == pytest.approx(c, rel=0.3)       # MP second moment 1 + c
    nominal = spectra.n_channels / (spectra.n_samples - 1)
    assert mean_sq - 1 > 2 * nominal


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
    monkeypatch.setattr(bsmod, "_CHUNK_ELEMENTS", 5000 * 3)         # 3 channels a block
    chunked = recording_band_scatter(x, BANDS, sfreq=100.0, window=2.0, overlap=0.5,
                                     dtype=np.float64)
    np.testing.assert_allclose(chunked.scatter, whole.scatter, atol=1e-10)
    np.testing.assert_allclose(chunked.power_ratio, whole.power_ratio, rtol=1e-12)
    raw = mne.io.RawArray(x, mne.create_info(8, 100.0, "eeg"), verbose="ERROR")
    from_raw = recording_band_scatter(raw, BANDS, window=2.0, overlap=0.5, dtype=np.float64)
    np.testing.assert_allclose(from_raw.scatter, whole.scatter, atol=1e-10)


def test_one_pass_per_recording_shared_by_spectra_and_covariances(monkeypatch):
    calls = {"scatter": 0, "filter": 0}
    real_scatter, real_filter = bsmod._recording_spectrum, mne.filter.filter_data

    def spy_scatter(*a, **k):
        calls["scatter"] += 1
        return real_scatter(*a, **k)

    def spy_filter(*a, **k):
        calls["filter"] += 1
        return real_filter(*a, **k)

    monkeypatch.setattr(bsmod, "_recording_spectrum", spy_scatter)
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
    # the coarser grid (no overlap) is every other window of the shared 50 % grid (the
    # FFT lengths differ with the grid: float32 rounding apart, the same matrices)
    np.testing.assert_allclose(covs, cov_step.fit_transform([x]), rtol=1e-4,
                               atol=1e-5 * np.abs(covs).max())
    alone = spectra_step.fit_transform([x])[0].eigenvalues
    np.testing.assert_allclose(spectra.eigenvalues, alone, atol=1e-5 * alone.max())


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


def test_a_filter_longer_than_the_recording_and_a_band_above_nyquist_are_config_errors():
    x = np.random.default_rng(7).standard_normal((3, 300))
    with pytest.raises(ConfigError, match="longer than the recording"):
        recording_band_scatter(x, {"delta": (0.5, 4.0)}, sfreq=100.0, window=2.0)
    with pytest.raises(ConfigError, match="Nyquist"):
        recording_band_scatter(x, {"high": (40.0, 60.0)}, sfreq=100.0, window=2.0)


def test_windows_touching_bad_annotations_are_left_out_as_band_windows_does(eeg_like):
    raw = mne.io.RawArray(eeg_like, mne.create_info(8, 100.0, "eeg"), verbose="ERROR")
    raw.set_annotations(mne.Annotations([10.5, 30.0], [1.0, 0.2], ["BAD_blink", "BAD_x"]))
    bs = recording_band_scatter(raw, BANDS, window=2.0, overlap=0.5, dtype=np.float64)
    ref = dict(band_windows(raw, BANDS, window=2.0, overlap=0.5, dtype=np.float64))
    for b, band in enumerate(BANDS):
        assert bs.n_windows == ref[band].shape[0] < 59
        x = ref[band] - ref[band].mean(axis=-1, keepdims=True)
        np.testing.assert_allclose(_corr(bs.scatter[b]), _corr(x @ x.transpose(0, 2, 1)),
                                   atol=0.05)
    # the coarser grid keeps the windows that start on it, gaps included
    coarse = bs.every(2)
    assert np.all(coarse.starts % 200 == 0)
    direct = recording_band_scatter(raw, BANDS, window=2.0, overlap=0.0, dtype=np.float64)
    np.testing.assert_array_equal(coarse.starts, direct.starts)
    np.testing.assert_allclose(coarse.scatter, direct.scatter, rtol=1e-8,
                               atol=1e-8 * np.abs(direct.scatter).max())
