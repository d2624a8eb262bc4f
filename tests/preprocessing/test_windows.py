import mne
import numpy as np
import pytest

from neurodx.errors import ConfigError
from neurodx.preprocessing import (DEFAULT_BANDS, annotation_onsets, bad_spans, band_windows,
                                   check_bands, clean_window_mask, sliding_windows,
                                   window_starts)


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


def _raw_with(annotations, n_times=1280, sfreq=128.0, first_samp=0):
    rng = np.random.default_rng(0)
    info = mne.create_info(4, sfreq, "eeg")
    raw = mne.io.RawArray(rng.standard_normal((4, n_times)) * 1e-5, info, first_samp=first_samp,
                          verbose="ERROR")
    raw.set_annotations(annotations)
    return raw


@pytest.mark.parametrize("first_samp", [0, 300])
def test_windows_touching_bad_spans_are_dropped(first_samp):
    # orig_time None: onsets count from the first sample, whatever first_samp
    raw = _raw_with(mne.Annotations([2.0, 6.0], [1.0, 1.0], ["BAD_muscle", "eyes_closed"]),
                    first_samp=first_samp)
    assert bad_spans(raw).tolist() == [[256, 384]]
    # the same samples MNE itself leaves out
    nan = np.isnan(raw.get_data(reject_by_annotation="NaN")[0])
    assert np.flatnonzero(nan).tolist() == list(range(256, 384))
    _, kept = next(band_windows(raw, {"broad": None}, window=1.0, overlap=0.0))
    _, every = next(band_windows(raw.get_data(), {"broad": None}, sfreq=128.0, window=1.0,
                                 overlap=0.0))
    # 10 one-second windows; the one covering [2, 3) s goes, "eyes_closed" is not BAD
    assert len(every) == 10 and len(kept) == 9
    np.testing.assert_array_equal(kept, np.delete(every, 2, axis=0))


def test_a_zero_length_bad_boundary_drops_the_windows_straddling_it():
    spans = np.array([[200, 200]])
    starts = np.arange(0, 400, 64)
    keep = clean_window_mask(starts, 128, spans)
    # windows [128, 256) and [192, 320) straddle sample 200; [64, 192) ends before it
    assert starts[~keep].tolist() == [128, 192]


def test_bad_spans_hit_event_windows_too():
    raw = _raw_with(mne.Annotations([3.0], [0.5], ["bad_acq_skip"]))
    _, wins = next(band_windows(raw, {"broad": None}, window=1.0,
                                onsets=np.array([0, 256, 384, 640])))
    assert len(wins) == 3                              # the window at 3 s is dropped
