"""The test-function bank: values on known spectra, floor, bulk variants, registry, null."""
import numpy as np
import pytest
from numpy.polynomial import chebyshev

from neurodx.errors import ConfigError
from neurodx.rmt import (DEFAULT_TEST_FUNCTIONS, TEST_FUNCTIONS, evaluate_test_functions,
                         get_test_function, marchenko_pastur_edges, marchenko_pastur_moments,
                         null_moments, register_test_function)

ALL = tuple(TEST_FUNCTIONS)


def test_registry_has_the_required_functions():
    required = {"vne", "logdet", "stein", "inv_stein", "sqrt_dev", "cheb2", "cheb3", "cheb4",
                "cheb5", "m1", "m2", "m3", "m4", "n_above", "mass_above", "lmax"}
    assert required <= set(TEST_FUNCTIONS)
    assert "m1" not in DEFAULT_TEST_FUNCTIONS          # constant on normalised spectra
    assert any(n.startswith("bulk_") for n in DEFAULT_TEST_FUNCTIONS)
    for name in DEFAULT_TEST_FUNCTIONS:
        assert get_test_function(name).name == name


def test_values_on_the_identity_spectrum():
    n, c = 16, 0.25
    vals = dict(zip(ALL, evaluate_test_functions(np.ones(n), ALL, c)))
    assert vals["vne"] == pytest.approx(np.log(n))            # maximal entropy
    for name in ("logdet", "stein", "inv_stein", "sqrt_dev", "n_above", "mass_above"):
        assert vals[name] == pytest.approx(0.0, abs=1e-12), name
    for name in ("m1", "m2", "m3", "m4", "lmax"):
        assert vals[name] == pytest.approx(1.0), name
    lower, upper = marchenko_pastur_edges(c)
    u = (2 - (upper + lower)) / (upper - lower)               # = -sqrt(c) / 2
    for k in range(2, 6):
        assert vals[f"cheb{k}"] == pytest.approx(chebyshev.chebval(u, np.eye(6)[k]))


def test_values_on_a_spiked_spectrum():
    c = 0.1
    _, upper = marchenko_pastur_edges(c)
    lam = np.array([0.5, 0.7, 0.8, 1.0, 5.0])                  # mean 1.6, one outlier
    vals = dict(zip(ALL + ("bulk_m2", "bulk_logdet"),
                    evaluate_test_functions(lam, ALL + ("bulk_m2", "bulk_logdet"), c)))
    assert vals["n_above"] == 1
    assert vals["mass_above"] == pytest.approx(5.0 / lam.sum())
    assert vals["lmax"] == 5.0
    assert vals["m2"] == pytest.approx(np.mean(lam ** 2))
    assert vals["bulk_m2"] == pytest.approx(np.mean(lam[:4] ** 2))
    assert vals["bulk_logdet"] == pytest.approx(np.mean(np.log(lam[:4])))
    p = lam / lam.sum()
    assert vals["vne"] == pytest.approx(-np.sum(p * np.log(p)))
    assert vals["stein"] == pytest.approx(np.mean(lam - np.log(lam) - 1))
    assert vals["inv_stein"] == pytest.approx(np.mean(1 / lam + np.log(lam) - 1))
    assert vals["sqrt_dev"] == pytest.approx(np.mean((np.sqrt(lam) - 1) ** 2))
    assert upper < 5.0


def test_floor_guards_zero_and_negative_eigenvalues():
    lam = np.array([-1e-7, 0.0, 1e-9, 1.5, 2.5])
    out = evaluate_test_functions(lam, ALL, 2.0, floor=1e-3)
    assert np.all(np.isfinite(out))
    floored = evaluate_test_functions(np.array([1e-3, 1e-3, 1e-3, 1.5, 2.5]),
                                      ("logdet", "stein", "inv_stein"), 2.0, floor=1e-3)
    np.testing.assert_allclose(evaluate_test_functions(lam, ("logdet", "stein", "inv_stein"), 2.0,
                                                       floor=1e-3), floored)


def test_batched_evaluation_shape():
    lam = np.random.default_rng(0).uniform(0.1, 3, size=(3, 7, 10))
    out = evaluate_test_functions(lam, ("vne", "m2", "bulk_m2"), 0.5)
    assert out.shape == (3, 7, 3)
    np.testing.assert_allclose(out[1, 2], evaluate_test_functions(lam[1, 2], ("vne", "m2", "bulk_m2"), 0.5))


def test_registering_a_function_is_one_entry():
    try:
        @register_test_function("m6_test", "sixth power moment", elementwise=True)
        def _m6(lam, ctx):
            return lam ** 6

        lam = np.array([0.5, 1.0, 1.5])
        assert evaluate_test_functions(lam, ("m6_test",), 0.1)[0] == pytest.approx(np.mean(lam ** 6))
        assert get_test_function("bulk_m6_test").bulk
    finally:
        TEST_FUNCTIONS.pop("m6_test", None)


def test_unknown_names_raise():
    with pytest.raises(ConfigError, match="unknown test function"):
        get_test_function("entropy")
    with pytest.raises(ConfigError, match="no bulk-only variant"):
        get_test_function("bulk_vne")
    with pytest.raises(ConfigError, match="reserved"):
        register_test_function("bulk_x", "nope")


def test_null_moments_match_finite_size_theory():
    n, t = 30, 120
    (m2, m3), (sd2, _) = null_moments(("m2", "m3"), n, t, n_draws=400, seed=0)
    # correlations of independent Gaussian vectors (no demeaning) have E r^2 = 1 / t exactly
    assert m2 == pytest.approx(1 + (n - 1) / t, abs=3 * sd2 / np.sqrt(400) + 1e-3)
    # and the MP closed form holds up to O(1/t)
    assert m3 == pytest.approx(marchenko_pastur_moments(3, n / t), rel=0.03)
    (mean_lmax,), (sd_lmax,) = null_moments(("lmax",), n, t, n_draws=400, seed=0)
    assert mean_lmax < marchenko_pastur_edges(n / t)[1] + 3 * sd_lmax


def test_null_moments_are_cached_and_deterministic():
    a = null_moments(("vne", "logdet"), 12, 40, seed=1)
    b = null_moments(("vne", "logdet"), 12, 40, seed=1)
    c = null_moments(("vne", "logdet"), 12, 40, seed=2)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    # a statistic is evaluated on the same null draws whichever others are requested
    assert null_moments(("logdet",), 12, 40, seed=1)[0][0] == pytest.approx(a[0][1], rel=1e-12)
