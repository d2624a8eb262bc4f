import numpy as np
import pytest
from pyriemann.estimation import Covariances

from neurodx.rmt.covariances import BandCovariances, _oas_covariances


@pytest.mark.parametrize("shape", [(5, 8, 60), (3, 20, 15), (2, 1, 30)])
def test_oas_is_pyriemann_s_oas(shape):
    # the baseline's "oas" is computed without scikit-learn's unused precision matrix;
    # it must stay pyRiemann's estimator (more channels than samples and one channel too)
    windows = np.random.default_rng(0).normal(size=shape) * np.arange(1, shape[1] + 1)[:, None]
    expected = Covariances(estimator="oas").transform(windows)
    np.testing.assert_allclose(_oas_covariances(windows), expected, rtol=1e-12, atol=1e-14)


def test_band_covariances_oas_matches_pyriemann_windows():
    rng = np.random.default_rng(1)
    subjects = [rng.normal(size=(6, 300)) for _ in range(2)]
    est = BandCovariances(estimator="oas", bands={"broadband": None}, window=100.0, sfreq=1.0)
    got = est.fit_transform(subjects)
    for sub, mats in zip(subjects, got):
        windows = np.stack([sub[:, i:i + 100] for i in (0, 100, 200)])
        expected = Covariances(estimator="oas").transform(windows).mean(axis=0)
        np.testing.assert_allclose(mats[0], expected, rtol=1e-12)
