"""LinearEigenvalueStatistics: layout, invariances, MP standardisation."""
import gc

import numpy as np
import pytest

from neurodx.errors import ConfigError
from neurodx.rmt import EigenSpectra, LinearEigenvalueStatistics, WindowSpectra

SFREQ = 100.0
BANDS = {"alpha": (8.0, 13.0), "beta": (13.0, 30.0)}


def _spectra(recordings, **kw):
    return EigenSpectra(bands=BANDS, sfreq=SFREQ, **kw).fit_transform(recordings)


@pytest.fixture
def recordings(spiked_signal):
    rng = np.random.default_rng(0)
    return [spiked_signal(rng, 8, 4000, s) for s in (0.0, 0.0, 3.0, 3.0)]


def test_layout_and_feature_names(recordings):
    spec = _spectra(recordings)
    les = LinearEigenvalueStatistics(test_functions=("vne", "m2", "bulk_m2")).fit(spec)
    out = les.transform(spec)
    assert len(out) == 4
    assert out[0].shape == (spec[0].n_windows, 2 * 3)
    assert list(les.get_feature_names_out()) == [
        "alpha_vne", "alpha_m2", "alpha_bulk_m2", "beta_vne", "beta_m2", "beta_bulk_m2"]
    np.testing.assert_allclose(les.n_eff_, np.median([s.n_eff for s in spec], axis=0))


def test_les_are_invariant_to_channel_permutation_and_scaling(recordings):
    rng = np.random.default_rng(1)
    x = recordings[2]
    perm = rng.permutation(x.shape[0])
    scaled = x * rng.uniform(0.01, 100.0, size=(x.shape[0], 1))
    les = LinearEigenvalueStatistics().fit(_spectra([x]))
    ref = les.transform(_spectra([x]))[0]
    np.testing.assert_allclose(les.transform(_spectra([x[perm]]))[0], ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(les.transform(_spectra([scaled]))[0], ref, rtol=1e-3, atol=1e-3)


def test_spike_raises_edge_statistics(recordings):
    spec = _spectra(recordings)
    les = LinearEigenvalueStatistics(test_functions=("n_above", "lmax", "vne")).fit(spec)
    means = np.array([f.mean(axis=0) for f in les.transform(spec)])
    white, spiked = means[:2], means[2:]
    for col in (0, 1, 3, 4):                                   # n_above and lmax, both bands
        assert spiked[:, col].min() > white[:, col].max()
    for col in (2, 5):                                         # structure lowers the entropy
        assert spiked[:, col].max() < white[:, col].min()


def test_standardised_features_are_z_scores_under_the_null():
    # unfiltered white windows: the MP null at (N, T - 1) is exact
    rng = np.random.default_rng(2)
    windows = [rng.standard_normal((150, 24, 100)) for _ in range(2)]
    spec = EigenSpectra(n_eff="nominal").fit_transform(windows)
    names = ("vne", "logdet", "stein", "m2", "m3", "cheb3", "lmax", "bulk_m2")
    les = LinearEigenvalueStatistics(test_functions=names, standardize=True,
                                     n_draws=400).fit(spec)
    z = np.vstack(les.transform(spec))
    assert np.all(np.abs(z.mean(axis=0)) < 0.25), z.mean(axis=0)
    assert np.all((z.std(axis=0) > 0.8) & (z.std(axis=0) < 1.25)), z.std(axis=0)
    # without standardisation the same features are far from z-scores
    raw = np.vstack(LinearEigenvalueStatistics(test_functions=names).fit_transform(spec))
    assert np.abs(raw.mean(axis=0)).max() > 1.0


def test_standardisation_is_an_affine_map_shared_by_subjects(recordings):
    spec = _spectra(recordings)
    raw = LinearEigenvalueStatistics(test_functions=("vne", "m2")).fit(spec).transform(spec)
    std_est = LinearEigenvalueStatistics(test_functions=("vne", "m2"), standardize=True).fit(spec)
    std = std_est.transform(spec)
    for r, s in zip(raw, std):
        np.testing.assert_allclose(s, (r - std_est.null_mean_.ravel()) / std_est.null_sd_.ravel())


def test_layout_mismatch_and_bad_params_raise(recordings):
    spec = _spectra(recordings[:2])
    other = EigenSpectra(bands={"alpha": (8.0, 13.0)}, sfreq=SFREQ).fit_transform(recordings[:1])
    with pytest.raises(ConfigError, match="do not match subject 0"):
        LinearEigenvalueStatistics().fit(spec + other)
    les = LinearEigenvalueStatistics().fit(spec)
    with pytest.raises(ConfigError, match="fitted layout"):
        les.transform(other)
    with pytest.raises(ConfigError, match="unknown test function"):
        LinearEigenvalueStatistics(test_functions=("vne", "nope")).fit(spec)
    with pytest.raises(ConfigError, match="duplicates"):
        LinearEigenvalueStatistics(test_functions=("vne", "vne")).fit(spec)
    with pytest.raises(ConfigError, match="floor"):
        LinearEigenvalueStatistics(floor=0).fit(spec)
    with pytest.raises(ConfigError, match="WindowSpectra"):
        LinearEigenvalueStatistics().fit([np.ones((3, 4))])
    assert isinstance(spec[0], WindowSpectra)


def test_estimator_api(api_checks):
    api_checks(LinearEigenvalueStatistics())


def test_refitting_on_the_same_subjects_reuses_values_without_changing_them(recordings):
    # The LES step is refitted in every fold and permutation: a refit on the same
    # training subjects (same reference) must hit the caches and give identical output;
    # another reference must give other values, not stale ones.
    from neurodx.rmt import les as les_module

    spec = _spectra(recordings)
    first = LinearEigenvalueStatistics(standardize=True).fit(spec[:3])
    expected = first.transform(spec)
    hits = les_module._VALUES.hits
    again = LinearEigenvalueStatistics(standardize=True).fit(spec[:3]).transform(spec)
    assert les_module._VALUES.hits >= hits + len(spec) * len(BANDS)
    for a, b in zip(again, expected):
        np.testing.assert_array_equal(a, b)
    other = LinearEigenvalueStatistics(standardize=True).fit(spec[2:])
    assert not np.allclose(other.n_eff_, first.n_eff_)
    fresh = les_module._BandValuesCache()
    cached, les_module._VALUES = les_module._VALUES, fresh
    try:
        uncached = other.transform(spec)
    finally:
        les_module._VALUES = cached
    for a, b in zip(other.transform(spec), uncached):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(other.transform(spec)[0], expected[0])


def test_values_of_freed_spectra_leave_the_cache(recordings):
    from neurodx.rmt import les as les_module

    spec = _spectra(recordings[:2])
    LinearEigenvalueStatistics().fit(spec).transform(spec)
    n = len(les_module._VALUES._entries)
    del spec
    gc.collect()
    assert len(les_module._VALUES._entries) <= n - 2 * len(BANDS)
