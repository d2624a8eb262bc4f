import numpy as np
import pytest
from scipy import stats

from neurodx.evaluation.statistics import corrected_resampled_ttest, mcnemar_test


def test_mcnemar_counts_discordant_pairs_and_exact_p():
    a = np.array([1, 1, 1, 1, 1, 1, 0, 0, 1, 1], bool)
    b = np.array([0, 0, 0, 0, 0, 1, 0, 1, 1, 1], bool)
    r = mcnemar_test(a, b)
    assert (r["a_right_b_wrong"], r["a_wrong_b_right"]) == (5, 1)
    assert r["p_value"] == pytest.approx(2 * sum(stats.binom.pmf(k, 6, 0.5) for k in (0, 1)))
    assert mcnemar_test(a, a)["p_value"] == 1.0


def test_corrected_ttest_matches_formula_and_is_more_conservative():
    rng = np.random.default_rng(0)
    a = 0.8 + 0.05 * rng.standard_normal(20)
    b = a - 0.02 + 0.03 * rng.standard_normal(20)
    r = corrected_resampled_ttest(a, b, n_train=80, n_test=20)
    d = a - b
    t = d.mean() / np.sqrt((1 / 20 + 20 / 80) * d.var(ddof=1))
    assert r["t"] == pytest.approx(t) and r["df"] == 19
    naive = stats.ttest_rel(a, b).pvalue
    assert r["p_value"] > naive


def test_corrected_ttest_degenerate_cases():
    assert np.isnan(corrected_resampled_ttest([0.5], [0.4], 10, 5)["p_value"])
    assert corrected_resampled_ttest([0.5, 0.5], [0.5, 0.5], 10, 5)["p_value"] == 1.0
