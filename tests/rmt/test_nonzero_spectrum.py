"""LES of the non-zero part of c > 1 spectra (neurodx.rmt.nonzero_spectrum)."""
import numpy as np
import pytest
from scipy import stats

from neurodx.errors import ConfigError
from neurodx.rmt import (RMT_ROUTE_KINDS, EigenSpectra, NonZeroSpectrumLES,
                         make_les_nonzero_pipeline, marchenko_pastur_cdf, nonzero_count,
                         nonzero_spectrum)

N, T = 200, 120     # more regions than time points per window: c = 200 / 119 > 1
BROADBAND = {"broadband": None}


def _spectra(recordings):
    return EigenSpectra(bands=BROADBAND, sfreq=1.0, window=T, overlap=0.0,
                        dtype="float64").fit_transform(recordings)


@pytest.fixture(scope="module")
def white():
    rng = np.random.default_rng(0)
    return _spectra([rng.standard_normal((N, 4 * T)) for _ in range(4)])


@pytest.fixture(scope="module")
def correlated():
    # SYNTHETIC: 5 shared sources mixed into every region, plus independent noise
    rng = np.random.default_rng(1)
    mixing = rng.standard_normal((N, 5))
    return _spectra([mixing @ rng.standard_normal((5, 4 * T))
                     + 0.7 * rng.standard_normal((N, 4 * T)) for _ in range(4)])


def test_nonzero_count_is_the_window_rank():
    assert nonzero_count(200, 120, 118.8) == 119     # rounds T_eff, rank T - 1 caps it
    assert nonzero_count(200, 120, 140.0) == 119
    assert nonzero_count(19, 256, 40.0) == 19        # c < 1: every eigenvalue
    with pytest.raises(ConfigError):
        nonzero_spectrum(np.ones((2, 5)), 6)


def test_white_noise_nonzero_part_fits_the_dual_mp_law(white):
    les = NonZeroSpectrumLES().fit(white)
    m = int(les.n_nonzero_[0])
    assert m == T - 1
    assert les.ratio_[0] == pytest.approx(m / N)
    assert les.point_mass_[0] == pytest.approx(1 - m / N)
    lam = nonzero_spectrum(white[0].normalized()[0], m).ravel()
    assert lam.mean() == pytest.approx(1.0, abs=1e-9)       # trace N carried by m values
    ks = stats.kstest(lam, lambda x: marchenko_pastur_cdf(x, m / N)).statistic
    assert ks < 0.03
    # and the whole spectrum does not fit MP at c = N / m: its zeros are the point mass
    full = white[0].normalized()[0].ravel()
    assert np.mean(full < 1e-8) == pytest.approx(1 - m / N, abs=0.01)
    assert "point mass" in les.summary_[0] and "non-zero part" in les.summary_[0]


def test_white_noise_standardised_statistics_are_near_zero(white):
    les = NonZeroSpectrumLES().fit(white)
    z = np.concatenate(les.transform(white))
    assert z.shape == (16, len(les.test_functions_))
    assert np.all(np.abs(z.mean(axis=0)) < 1.5)          # 16 windows: SE of a mean ~ 0.25


def test_correlated_signal_departs_from_the_null(white, correlated):
    les = NonZeroSpectrumLES().fit(white)
    m = int(les.n_nonzero_[0])
    lam = nonzero_spectrum(correlated[0].normalized()[0], m).ravel()
    assert stats.kstest(lam, lambda x: marchenko_pastur_cdf(x, m / N)).statistic > 0.2
    z = np.concatenate(les.transform(correlated))
    assert np.max(np.abs(z.mean(axis=0))) > 20


def test_reference_learnt_on_training_subjects_only(white, correlated):
    les = NonZeroSpectrumLES().fit(white[:2])
    before = les.n_eff_.copy()
    les.transform(correlated)                           # test subjects change nothing
    np.testing.assert_array_equal(les.n_eff_, before)
    with pytest.raises(ConfigError, match="ring law"):
        NonZeroSpectrumLES(test_functions=["m2", "msr_l1"]).fit(white)


def test_route_kind_runs_and_is_deterministic():
    assert RMT_ROUTE_KINDS["rmt_les_nonzero"] == (make_les_nonzero_pipeline, 1)
    rng = np.random.default_rng(2)
    X = [rng.standard_normal((40, 150)) for _ in range(8)]
    y = np.array(["HC", "SZ"] * 4)
    preds = [make_les_nonzero_pipeline(bands=BROADBAND, sfreq=1.0, window=30, overlap=0.5)
             .fit(X, y).predict(X) for _ in range(2)]
    np.testing.assert_array_equal(preds[0], preds[1])


def test_c_below_one_is_the_plain_les():
    from neurodx.rmt import NONZERO_TEST_FUNCTIONS, LinearEigenvalueStatistics
    rng = np.random.default_rng(3)
    spectra = _spectra([rng.standard_normal((20, 4 * T)) for _ in range(3)])   # c = 20/119
    les = NonZeroSpectrumLES().fit(spectra)
    assert les.n_nonzero_[0] == 20 and les.point_mass_[0] == 0.0
    plain = LinearEigenvalueStatistics(test_functions=NONZERO_TEST_FUNCTIONS,
                                       standardize=True).fit(spectra)
    for a, b in zip(les.transform(spectra), plain.transform(spectra)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
