import mne
import numpy as np
import pytest

from neurodx.errors import ConfigError
from neurodx.preprocessing import (DEFAULT_BANDS, annotation_onsets, band_windows, check_bands,
                                   sliding_windows, window_starts)


def test_window_starts_and_views_share_memory():
    x = np.arange(2 * 10, dtype=float).reshape(2, 10)
    w = sliding_windows(x, 4, 2)
    assert w.shape == (4, 2, 4)
    assert np.shares_memory(w, x)
    assert np.array_equal(w[1], x[:, 2:6])
    assert list(window_starts(10, 4, 2)) == [0, 2, 4, 6]
    assert sliding_windows(x, 20, 1).shape == (0, 2, 20)


def test_band_windows_keep_each_band_energy():
    sfreq = 200.0
    t = np.arange(int(20 * sfreq)) / sfreq
    x = np.vstack([np.sin(2 * np.pi * 10 * t), np.sin(2 * np.pi * 20 * t)])
    out = dict(band_windows(x, sfreq=sfreq, window=2.0, overlap=0.5))
    assert list(out) == list(DEFAULT_BANDS)
    assert out["alpha"].shape == (19, 2, 400) and out["alpha"].dtype == np.float32
    power = {b: (w[2:-2] ** 2).mean(axis=(0, 2)) for b, w in out.items()}
    assert power["alpha"][0] > 0.4 and power["alpha"][1] < 0.01   # 10 Hz in alpha only
    assert power["beta"][1] > 0.4 and power["beta"][0] < 0.01     # 20 Hz in beta only


def test_unfiltered_band_and_event_windows():
    sfreq = 100.0
    x = np.random.default_rng(0).standard_normal((3, 1000))
    (name, w), = band_windows(x, {"broadband": None}, sfreq=sfreq, window=1.0, overlap=0.0,
                               onsets=np.array([0, 150, 960]), tmin=-0.5)
    assert name == "broadband"
    assert w.shape == (1, 3, 100)   # onset 0 starts before the data, 960 ends after it
    assert np.allclose(w[0], x[:, 100:200], atol=1e-6)


def test_onsets_from_annotations():
    raw = mne.io.RawArray(np.zeros((2, 1000)), mne.create_info(2, 100.0, "eeg"))
    raw.set_annotations(mne.Annotations([1.0, 4.0], [0.0, 0.0], ["go", "stop"]))
    assert list(annotation_onsets(raw)) == [100, 400]


@pytest.mark.parametrize("bands, sfreq, message", [
    ({"a": (8, 4)}, None, "low < high"),
    ({"g": (30, 60)}, 100.0, "Nyquist"),
    ({}, None, "non-empty"),
    ({"x": "alpha"}, None, "expected"),
])
def test_bad_bands(bands, sfreq, message):
    with pytest.raises(ConfigError, match=message):
        check_bands(bands, sfreq)
