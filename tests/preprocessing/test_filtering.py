import mne
import numpy as np

from neurodx.preprocessing import preprocess_raw


def _raw():
    sfreq = 250.0
    t = np.arange(int(10 * sfreq)) / sfreq
    rng = np.random.default_rng(0)
    data = 1e-5 * (rng.standard_normal((4, t.size)) + 3 * np.sin(2 * np.pi * 50 * t))
    return mne.io.RawArray(data, mne.create_info(4, sfreq, "eeg"))


def _power_at(raw, freq):
    spec = np.abs(np.fft.rfft(raw.get_data(), axis=1)) ** 2
    freqs = np.fft.rfftfreq(raw.n_times, 1 / raw.info["sfreq"])
    return spec[:, np.argmin(np.abs(freqs - freq))].mean()


def test_average_reference_notch_bandpass_resample():
    raw = _raw()
    before = raw.get_data().copy()
    out = preprocess_raw(raw, reference="average", notch=50.0, l_freq=1.0, h_freq=40.0,
                         sfreq=125.0)
    assert np.array_equal(raw.get_data(), before)   # input untouched
    assert out.info["sfreq"] == 125.0
    assert np.allclose(out.get_data().mean(axis=0), 0, atol=1e-12)  # average reference
    plain = preprocess_raw(raw, reference=None)
    assert _power_at(out, 50.0) < 1e-3 * _power_at(plain, 50.0)


def test_in_place_preprocessing_gives_the_same_signal_without_a_copy():
    ref = preprocess_raw(_raw(), reference="average", l_freq=1.0, h_freq=40.0)
    raw = _raw()
    out = preprocess_raw(raw, reference="average", l_freq=1.0, h_freq=40.0, copy=False)
    assert out is raw
    np.testing.assert_array_equal(out.get_data(), ref.get_data())
