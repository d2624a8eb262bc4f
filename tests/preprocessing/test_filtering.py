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


def _mixed_raw(n_eeg=40):
    """EEG channels (one bad) beside an EOG and a misc channel, more than one block."""
    rng = np.random.default_rng(1)
    info = mne.create_info([f"E{i}" for i in range(n_eeg)] + ["EOG", "MISC"], 250.0,
                           ["eeg"] * n_eeg + ["eog", "misc"])
    raw = mne.io.RawArray(1e-5 * rng.standard_normal((n_eeg + 2, 2500))
                          + 1e-4 * np.sin(np.arange(2500) / 9.0), info, verbose="ERROR")
    raw.info["bads"] = ["E3"]
    return raw


def test_steps_give_mne_s_samples_and_info_exactly():
    # the average reference, notch and band-pass run channel by channel or in blocks
    # (no copy of the recording); every sample and the info are MNE's own calls'
    out = preprocess_raw(_mixed_raw(), reference="average", notch=50.0, l_freq=1.0,
                         h_freq=40.0)
    mne_raw = _mixed_raw().set_eeg_reference("average", projection=False, verbose="ERROR")
    mne_raw.notch_filter([50.0, 100.0], verbose="ERROR")
    mne_raw.filter(1.0, 40.0, verbose="ERROR")
    np.testing.assert_array_equal(out.get_data(), mne_raw.get_data())
    for key in ("highpass", "lowpass", "custom_ref_applied", "bads"):
        assert out.info[key] == mne_raw.info[key], key
    # the EOG and misc channels are neither referenced nor filtered; the bad channel is
    # filtered (MNE filters every data channel) but not referenced
    raw = _mixed_raw()
    untouched = raw.copy().pick(["EOG", "MISC"]).get_data()
    bad_filtered = raw.copy().filter(1.0, 40.0, verbose="ERROR").get_data(picks=["E3"])
    out = preprocess_raw(raw, reference="average", l_freq=1.0, h_freq=40.0, copy=False)
    np.testing.assert_array_equal(out.get_data(picks=["EOG", "MISC"]), untouched)
    np.testing.assert_array_equal(out.get_data(picks=["E3"]), bad_filtered)


def test_average_reference_of_a_recording_without_eeg_goes_to_mne():
    info = mne.create_info(["A", "B", "C"], 100.0, "seeg")
    data = np.random.default_rng(2).standard_normal((3, 500))
    out = preprocess_raw(mne.io.RawArray(data, info, verbose="ERROR"), reference="average")
    np.testing.assert_allclose(out.get_data(), data - data.mean(axis=0), atol=1e-14)
