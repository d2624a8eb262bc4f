import numpy as np
import pandas as pd
import pybv
import pytest
import mne

from neurodx.errors import RecordingError
from neurodx.io import EEGSpec, load_eeg, pick_eeg_channels, read_eeg
from neurodx.simulate import simulate_eeg_raw


@pytest.fixture(scope="module")
def raw():
    """SYNTHETIC 16-channel recording, 4 s at 256 Hz, with an EOG and a status channel."""
    r = simulate_eeg_raw("HC", n_channels=16, sfreq=256.0, duration=4.0, seed=3)
    aux = mne.io.RawArray(np.vstack([1e-5 * np.sin(np.arange(r.n_times) / 40.0),
                                     np.zeros(r.n_times)]),
                          mne.create_info(["HEOG", "Status"], 256.0, "eeg"))
    r.load_data().add_channels([aux], force_update_info=True)
    return r


def _field(value, width):
    """One left-aligned ASCII header field of a BDF file."""
    text = str(value).encode("ascii")[:width]
    return text + b" " * (width - len(text))


def write_bdf(raw, path):
    """Write ``raw`` as a 24-bit BDF file (BioSemi layout), one data record per second.

    mne exports BDF only from 1.9 and neurodx only reads it, so the test writes the
    file itself: the reader is then checked at the lowest supported mne as well.
    """
    sfreq, n_ch = int(raw.info["sfreq"]), len(raw.ch_names)
    data = raw.get_data() * 1e6                      # volts -> the header's uV
    n_rec = raw.n_times // sfreq
    data = data[:, :n_rec * sfreq]
    pmax = np.array([float(f"{max(np.abs(row).max(), 1.0) * 1.01:.6g}") for row in data])
    dmin, dmax = -(2 ** 23), 2 ** 23 - 1
    digital = np.round((data + pmax[:, None]) / (2 * pmax[:, None]) * (dmax - dmin) + dmin)
    digital = np.clip(digital, dmin, dmax).astype("<i4")
    header = (b"\xffBIOSEMI" + _field("X", 80) + _field("SYNTHETIC", 80)
              + _field("01.01.20", 8) + _field("00.00.00", 8)
              + _field(256 * (n_ch + 1), 8) + _field("24BIT", 44) + _field(n_rec, 8)
              + _field(1, 8) + _field(n_ch, 4))
    columns = [[_field(name, 16) for name in raw.ch_names], [_field("", 80)] * n_ch,
               [_field("uV", 8)] * n_ch, [_field(f"{-v:.6g}", 8) for v in pmax],
               [_field(f"{v:.6g}", 8) for v in pmax], [_field(dmin, 8)] * n_ch,
               [_field(dmax, 8)] * n_ch, [_field("", 80)] * n_ch, [_field(sfreq, 8)] * n_ch,
               [_field("", 32)] * n_ch]
    header += b"".join(b"".join(column) for column in columns)
    # Records of (channel, sample) 24-bit little-endian integers: the 3 low bytes of int32.
    records = digital.reshape(n_ch, n_rec, sfreq).transpose(1, 0, 2)
    body = records.reshape(-1, 1).view(np.uint8)[:, :3].tobytes()
    path.write_bytes(header + body)


@pytest.mark.parametrize("ext, writer", [
    (".edf", lambda raw, p: mne.export.export_raw(p, raw, fmt="edf")),
    (".bdf", write_bdf),
    (".vhdr", lambda raw, p: mne.export.export_raw(p, raw, fmt="brainvision")),
    (".set", lambda raw, p: mne.export.export_raw(p, raw, fmt="eeglab")),
    (".fif", lambda raw, p: raw.save(p)),
    (".fif.gz", lambda raw, p: raw.save(p)),
])
def test_round_trip_through_writers(raw, tmp_path, ext, writer):
    path = tmp_path / f"rec_raw{ext}" if ext.startswith(".fif") else tmp_path / f"rec{ext}"
    writer(raw, path)
    back = read_eeg(path)
    assert isinstance(back, mne.io.BaseRaw)
    assert back.ch_names == raw.ch_names
    assert back.info["sfreq"] == raw.info["sfreq"]
    data = back.get_data()
    assert data.shape == (18, raw.n_times)
    # EDF/BDF quantise to 16/24 bits over the physical range: compare to that precision.
    assert np.allclose(data[:16], raw.get_data()[:16], atol=2e-8)


def test_bids_eeg_through_mne_bids(raw, tmp_path):
    mne_bids = pytest.importorskip("mne_bids")
    r = raw.copy()
    r.set_annotations(mne.Annotations([1.0, 2.5], [0.0, 0.0], ["stim", "stim"]))
    bids_path = mne_bids.BIDSPath(subject="01", task="rest", datatype="eeg", root=tmp_path)
    mne_bids.write_raw_bids(r, bids_path, format="EDF", allow_preload=True, verbose=False)
    files = sorted((tmp_path / "sub-01" / "eeg").glob("*_eeg.edf"))
    back = read_eeg(files[0])
    assert len(back.annotations) == 2  # events.tsv came along
    # channels.tsv types auxiliary channels for us
    assert "eeg" in back.get_channel_types()


def test_non_eeg_channels_are_typed_and_excluded(raw):
    picked, removed = pick_eeg_channels(raw.copy(), EEGSpec(exclude=["Fp1"]))
    assert set(removed) == {"HEOG", "Status", "Fp1"}
    assert len(picked.ch_names) == 15


def test_load_eeg_matches_channels_by_name_and_resamples(raw, tmp_path):
    shuffled = raw.copy().reorder_channels(list(reversed(raw.ch_names)))
    path = tmp_path / "shuffled_raw.fif"
    shuffled.save(path)
    wanted = raw.ch_names[:16]
    out = load_eeg(path, EEGSpec(), wanted, 128.0)
    assert out.ch_names == wanted
    assert out.info["sfreq"] == 128.0
    with pytest.raises(RecordingError, match="eeg.sfreq_policy is refuse"):
        load_eeg(path, EEGSpec(sfreq_policy="refuse"), wanted, 128.0)
    with pytest.raises(RecordingError, match="missing 1 required: XYZ"):
        load_eeg(path, EEGSpec(), wanted[:3] + ["XYZ"], 256.0)


def test_truncated_edf_is_an_error(raw, tmp_path):
    path = tmp_path / "rec.edf"
    mne.export.export_raw(path, raw, fmt="edf")
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2 + 3])
    with pytest.raises(RecordingError, match=r"rec\.edf: truncated file"):
        read_eeg(path)


def test_duplicate_channel_names_are_an_error(tmp_path):
    data = np.random.default_rng(0).standard_normal((3, 512)) * 1e-5
    pybv.write_brainvision(data=data, sfreq=256.0, ch_names=["Cz", "C2", "Pz"],
                           fname_base="dup", folder_out=tmp_path, unit="µV")
    # Writers refuse duplicates; real files get them from hand-edited headers.
    vhdr = tmp_path / "dup.vhdr"
    vhdr.write_text(vhdr.read_text().replace("Ch2=C2,", "Ch2=Cz,"))
    with pytest.raises(RecordingError, match="duplicate channel names"):
        read_eeg(tmp_path / "dup.vhdr")


@pytest.mark.parametrize("name, content, message", [
    ("missing.edf", None, "file not found"),
    ("notes.txt", b"hello", "unknown file format"),
    ("junk.edf", b"\x00" * 300, "unreadable .edf file"),
    ("regions.tsv", b"a\tb\n1\t2\n", "not an EEG format"),
])
def test_bad_files_raise_one_line_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RecordingError, match=message) as info:
        read_eeg(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_eegspec_validates_its_options():
    with pytest.raises(ValueError, match="sfreq_policy"):
        EEGSpec(sfreq_policy="maybe")
    with pytest.raises(ValueError, match="channel_names"):
        EEGSpec(n_channels=3, channel_names=["a", "b"])
