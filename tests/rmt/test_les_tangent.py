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
