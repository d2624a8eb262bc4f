"""The rmt_les_tangent route: BandSummaries -> LESTangentFeatures -> scaler -> classifier."""
import numpy as np
import pytest
from sklearn.base import clone

from neurodx.errors import ConfigError
from neurodx.rmt import RMT_ROUTE_KINDS
from neurodx.rmt.les_tangent import BandSummaries, LESTangentFeatures, make_les_tangent_pipeline
from neurodx.rmt.spectral_density import pooled_window_count

SFREQ = 64.0
BANDS = {"theta": (4.0, 8.0), "beta": (13.0, 30.0)}


def _cohort(n=10, n_ch=6, seconds=40, seed=0):
    rng = np.random.default_rng(seed)
    X, y = [], []
    for i in range(n):
        x = rng.standard_normal((n_ch, int(seconds * SFREQ)))
        if i % 2:                      # group 1: channels 0 and 1 share a source
            x[1] += 1.5 * x[0]
        X.append(x)
        y.append("patient" if i % 2 else "control")
    return X, np.array(y)


def test_summaries_respect_the_ratio_bound_and_are_spd():
    X, _ = _cohort(n=2)
    out = BandSummaries(bands=BANDS, sfreq=SFREQ, window=2.0, c_max=0.5).fit(X).transform(X)
    s = out[0]
    expected = [pooled_window_count(6, hi - lo, 2.0, c_max=0.5) for lo, hi in BANDS.values()]
    np.testing.assert_array_equal(s.blocks_per_window, expected)
    assert np.all(s.spectra.ratio <= 0.5)
    assert np.all(np.linalg.eigvalsh(s.covariances) > 0)
    np.testing.assert_allclose(np.exp(s.log_variances), np.diagonal(s.covariances, axis1=1,
                                                                     axis2=2), rtol=1e-6)


def test_spectra_do_not_depend_on_channel_order():
    X, _ = _cohort(n=1)
    perm = np.array([4, 2, 0, 5, 1, 3])
    est = BandSummaries(bands=BANDS, sfreq=SFREQ).fit(X)
    a, b = est.transform(X)[0], est.transform([X[0][perm]])[0]
    np.testing.assert_allclose(a.spectra.eigenvalues, b.spectra.eigenvalues, atol=1e-10)
    np.testing.assert_allclose(a.log_variances[:, perm], b.log_variances)


def test_route_learns_a_shared_source_and_is_deterministic():
    X, y = _cohort(n=16)
    pipe = make_les_tangent_pipeline(bands=BANDS, sfreq=SFREQ, window=2.0, random_state=0)
    tr, te = np.arange(12), np.arange(12, 16)
    p1 = clone(pipe).fit([X[i] for i in tr], y[tr]).predict([X[i] for i in te])
    p2 = clone(pipe).fit([X[i] for i in tr], y[tr]).predict([X[i] for i in te])
    np.testing.assert_array_equal(p1, p2)
    assert np.mean(p1 == y[te]) == 1.0
    assert RMT_ROUTE_KINDS["rmt_les_tangent"] == (make_les_tangent_pipeline, 1)


def test_bad_parameters_and_inputs_are_refused():
    X, _ = _cohort(n=1)
    with pytest.raises(ConfigError, match="c_max"):
        BandSummaries(bands=BANDS, sfreq=SFREQ, c_max=2).fit(X)
    with pytest.raises(ConfigError, match="method"):
        BandSummaries(bands=BANDS, sfreq=SFREQ, method="oas").fit(X)
    with pytest.raises(ConfigError, match="SubjectBands"):
        LESTangentFeatures().fit([np.eye(3)])


def _narrow_band_cohort(n=6, n_ch=30, seconds=60, seed=3):
    # SYNTHETIC: white noise low-passed at 32 Hz (sfreq 128), so the nominal 30-45 Hz
    # band holds only its 30-32 Hz edge, as in the 128-Hz ADHD recordings
    from scipy.signal import butter, sosfiltfilt
    rng = np.random.default_rng(seed)
    sos = butter(8, 32.0, fs=128.0, output="sos")
    return [sosfiltfilt(sos, rng.standard_normal((n_ch, int(seconds * 128.0))), axis=1)
            for _ in range(n)]


def test_measured_pooling_reaches_the_bound_where_the_nominal_width_does_not():
    X = _narrow_band_cohort()
    bands = {"gamma": (30.0, 45.0)}
    nominal = BandSummaries(bands=bands, sfreq=128.0, window=2.0).fit(X).transform(X)
    assert nominal[0].spectra.ratio[0] > 0.5             # nominal width: 1 block, c > 0.5
    blocks = BandSummaries(bands=bands, sfreq=128.0, window=2.0,
                           pooling="measured").fit(X).transform(X)
    assert blocks[0].spectra is None and blocks[0].block_scatter.shape[1] == 30
    feats = LESTangentFeatures(c_max=0.5).fit(blocks[:4])      # training subjects only
    row = feats.pooling_[0]
    assert row["bound_reached"] and row["c"] <= 0.5 and row["note"] == ""
    assert feats.blocks_per_window_[0] > nominal[0].blocks_per_window[0]
    measured_c = 30 / row["block_t_eff"]
    assert feats.blocks_per_window_[0] == int(np.ceil(measured_c / 0.5))
    assert feats.transform(blocks[4:]).shape == (2, feats.n_features_out_)
    with pytest.raises(ConfigError, match="mixed"):
        feats.transform(nominal)


def test_measured_pooling_says_when_a_band_cannot_reach_the_bound():
    X = _narrow_band_cohort(seconds=4)                   # 2 blocks: too few to pool
    blocks = BandSummaries(bands={"gamma": (30.0, 45.0)}, sfreq=128.0, window=2.0,
                           pooling="measured").fit(X).transform(X)
    feats = LESTangentFeatures(c_max=0.5).fit(blocks)
    row = feats.pooling_[0]
    assert feats.blocks_per_window_[0] == 2 and not row["bound_reached"]
    assert row["c"] > 0.5 and "cannot reach" in row["note"]
    with pytest.raises(ConfigError, match="pooling"):
        BandSummaries(bands=BANDS, sfreq=SFREQ, pooling="width").fit(X)


def test_nominal_pooling_is_unchanged_by_the_pooling_option():
    X, y = _cohort(n=8)
    a = make_les_tangent_pipeline(bands=BANDS, sfreq=SFREQ).fit(X, y)
    b = make_les_tangent_pipeline(bands=BANDS, sfreq=SFREQ, pooling="measured").fit(X, y)
    # the measured count equals the nominal one on white noise (T_eff ~ 2 x width x
    # length); features then agree
    np.testing.assert_array_equal(b.named_steps["features"].blocks_per_window_,
                                  a.named_steps["summaries"].transform(X[:1])[0]
                                  .blocks_per_window)
    np.testing.assert_allclose(a[:-2].transform(X), b[:-2].transform(X), rtol=1e-9, atol=1e-9)


def test_band_summary_states_a_band_that_cannot_reach_the_bound():
    from neurodx.rmt import EigenSpectra, band_summary
    X = _narrow_band_cohort(n=3, seconds=4)
    bands = {"gamma": (30.0, 45.0)}
    blocks = BandSummaries(bands=bands, sfreq=128.0, window=2.0,
                           pooling="measured").fit(X).transform(X)
    feats = LESTangentFeatures(c_max=0.5).fit(blocks)
    spectra = EigenSpectra(bands=bands, sfreq=128.0, window=2.0).fit_transform(X)
    row = band_summary(spectra, c_max=0.5, pooling=feats.pooling_)[0]
    assert row["pooled_blocks"] == 2 and row["bound_reached"] is False
    assert "cannot reach c <= 0.5" in row["note"]
