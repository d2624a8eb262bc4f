import numpy as np
from hypothesis import given, settings, strategies as st

from neurodx.io import flat_channels, quality_problems, scan_signal


def _scan(x, chunk=100_000):
    return scan_signal(lambda a, b: x[:, a:b], [f"ch{i}" for i in range(x.shape[0])],
                       x.shape[1], chunk=chunk)


@settings(max_examples=40, deadline=None)
@given(n_times=st.integers(5, 400), chunk=st.integers(1, 50), seed=st.integers(0, 1000))
def test_chunked_scan_equals_whole_array_statistics(n_times, chunk, seed):
    rng = np.random.default_rng(seed)
    x = np.round(rng.standard_normal((3, n_times)), 1)  # rounding creates ties at extremes
    q = _scan(x, chunk)
    assert np.allclose(q.std, x.std(axis=1), rtol=1e-9, atol=1e-12)
    expected = (x == x.max(axis=1, keepdims=True)).sum(1) + (x == x.min(axis=1, keepdims=True)).sum(1)
    assert np.array_equal(q.n_at_extremes, expected)
    assert q.n_nonfinite.sum() == 0


def test_flat_nan_and_saturated_channels_are_named():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 2000)) * 1e-5
    x[1] = 3e-6                                  # constant: flat
    x[2, 100:110] = np.nan                       # NaN
    x[3] = np.clip(x[3], -5e-6, 5e-6)            # clipped: saturated
    x[4, :] = np.nan                             # all NaN: reported once, as NaN
    msgs = quality_problems(_scan(x, 300), flat_std=1e-7, flat_ratio=0.01,
                            saturation_fraction=0.01)
    text = " | ".join(msgs)
    assert "NaN/Inf values in 2 channel(s): ch2, ch4" in text
    assert "flat channel(s) (1): ch1" in text
    assert "saturated (clipped) channel(s) (1): ch3" in text


def test_clean_signal_has_no_problem():
    x = np.random.default_rng(1).standard_normal((8, 5000)) * 1e-5
    assert quality_problems(_scan(x), flat_std=1e-7, flat_ratio=0.01,
                            saturation_fraction=0.01) == []


def test_relative_flatness_catches_a_disconnected_but_noisy_channel():
    x = np.random.default_rng(2).standard_normal((6, 3000)) * 2e-5
    x[0] *= 1e-3  # 20 nV of noise: above the absolute floor, far below its neighbours
    msgs = quality_problems(_scan(x), flat_std=1e-9, flat_ratio=0.01, saturation_fraction=0.01)
    assert msgs == ["flat channel(s) (1): ch0"]


def test_flat_channels_are_listed_apart_for_a_policy_to_decide():
    x = np.random.default_rng(3).standard_normal((4, 2000)) * 1e-5
    x[2] = 0.0
    q = _scan(x)
    assert flat_channels(q, flat_std=1e-7, flat_ratio=0.01) == ["ch2"]
    assert quality_problems(q, flat_std=1e-7, flat_ratio=0.01, saturation_fraction=0.01,
                            flat=False) == []   # and a constant channel is not called clipped
