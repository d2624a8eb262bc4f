"""Delimited-text EEG: sidecars, header, config fallbacks, orientation, units, refusals."""
import json

import numpy as np
import pandas as pd
import pytest

from neurodx.errors import RecordingError
from neurodx.io import EEGSpec, file_format, load_cohort, read_eeg
from neurodx.io.text_eeg import read_text_eeg, text_eeg_sidecars
from neurodx.io.validation import check_cohort

NAMES = ["Fz", "Cz", "Pz", "EOGR"]


def _signal(n=512, seed=0):
    """SYNTHETIC: n samples x 4 channels in microvolts."""
    return np.random.default_rng(seed).normal(0, 20, size=(n, len(NAMES)))


def _write(folder, data, *, stem="sub-01_task-rest", sfreq=128.0, header=True, channels=True,
           units="uV", sep=",", ext="csv"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}_eeg.{ext}"
    pd.DataFrame(data, columns=NAMES).to_csv(path, sep=sep, index=False, header=header)
    if sfreq is not None:
        (folder / f"{stem}_eeg.json").write_text(json.dumps({"SamplingFrequency": sfreq}))
    if channels:
        pd.DataFrame({"name": NAMES, "type": ["EEG", "EEG", "EEG", "EOG"], "units": units}
                     ).to_csv(folder / f"{stem}_channels.tsv", sep="\t", index=False)
    return path


def test_format_is_eeg_not_regions(tmp_path):
    assert file_format(tmp_path / "sub-01_task-rest_eeg.csv") == "_eeg.csv"
    assert file_format(tmp_path / "sub-01_task-rest_eeg.TSV") == "_eeg.tsv"
    assert file_format(tmp_path / "sub-01_bold.csv") == ".csv"      # region time series


def test_sidecars_give_rate_names_types_and_units(tmp_path):
    data = _signal()
    path = _write(tmp_path, data)
    raw = read_eeg(path)
    assert raw.info["sfreq"] == 128.0
    assert raw.ch_names == NAMES
    assert raw.get_channel_types() == ["eeg", "eeg", "eeg", "eog"]
    np.testing.assert_allclose(raw.get_data(), data.T * 1e-6, rtol=1e-9)
    assert text_eeg_sidecars(path)[1].name == "sub-01_task-rest_channels.tsv"


def test_units_from_channels_table(tmp_path):
    data = _signal()
    raw = read_text_eeg(_write(tmp_path, data, units="mV"))
    np.testing.assert_allclose(raw.get_data(), data.T * 1e-3, rtol=1e-9)


def test_header_row_names_channels_without_table(tmp_path):
    raw = read_text_eeg(_write(tmp_path, _signal(), channels=False))
    assert raw.ch_names == NAMES and set(raw.get_channel_types()) == {"eeg"}


def test_config_fallbacks_for_bare_file(tmp_path):
    data = _signal()
    path = _write(tmp_path, data, sfreq=None, header=False, channels=False)
    with pytest.raises(RecordingError, match="eeg.sfreq"):
        read_eeg(path)
    spec = EEGSpec(sfreq=100.0, channel_names=["a", "b", "c", "d"], text_unit="V")
    raw = read_eeg(path, spec=spec)
    assert raw.info["sfreq"] == 100.0 and raw.ch_names == ["a", "b", "c", "d"]
    np.testing.assert_allclose(raw.get_data(), data.T, rtol=1e-9)


def test_orientation_rows_as_channels(tmp_path):
    data = _signal(n=64)
    path = tmp_path / "sub-01_task-rest_eeg.txt"
    np.savetxt(path, data.T, delimiter="\t")            # 4 rows x 64 columns
    raw = read_text_eeg(path, sfreq=32.0, orientation="channels", channel_names=NAMES)
    assert raw.get_data().shape == (4, 64)
    np.testing.assert_allclose(raw.get_data(), data.T * 1e-6, rtol=1e-6)
    # Read the other way round, 64 columns do not match 4 names: refused, naming the setting.
    with pytest.raises(RecordingError, match="eeg.text_orientation"):
        read_text_eeg(path, sfreq=32.0, channel_names=NAMES)


def test_whitespace_txt(tmp_path):
    data = _signal(n=40)
    path = tmp_path / "rec_eeg.txt"
    np.savetxt(path, data, delimiter=" ")
    raw = read_text_eeg(path, sfreq=10.0)
    assert raw.get_data().shape == (4, 40)


@pytest.mark.parametrize("rate", [0, -5, "fast", True])
def test_bad_rate_refused(tmp_path, rate):
    path = _write(tmp_path, _signal())
    (tmp_path / "sub-01_task-rest_eeg.json").write_text(json.dumps({"SamplingFrequency": rate}))
    with pytest.raises(RecordingError, match="sampling rate"):
        read_text_eeg(path)


def test_nan_and_text_cells_refused(tmp_path):
    data = _signal()
    data[10, 2] = np.nan
    with pytest.raises(RecordingError, match="row 11, column 3"):
        read_text_eeg(_write(tmp_path / "a", data))
    path = _write(tmp_path / "b", _signal())
    lines = path.read_text().splitlines()
    lines[5] = "1,2,abc,4"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordingError, match="not a number"):
        read_text_eeg(path)


def test_ragged_rows_and_wrong_column_count_refused(tmp_path):
    path = _write(tmp_path / "a", _signal())
    lines = path.read_text().splitlines()
    lines[3] = lines[3] + ",7"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordingError, match=path.name):
        read_text_eeg(path)
    path = _write(tmp_path / "b", _signal(), units="uV")
    pd.DataFrame({"name": NAMES[:3], "type": "EEG", "units": "uV"}).to_csv(
        tmp_path / "b" / "sub-01_task-rest_channels.tsv", sep="\t", index=False)
    with pytest.raises(RecordingError, match="4 columns of data but 3 channel names"):
        read_text_eeg(path)


def test_unknown_unit_refused(tmp_path):
    with pytest.raises(RecordingError, match="unknown unit"):
        read_text_eeg(_write(tmp_path, _signal(), units="furlong"))


def test_cohort_of_text_files_validates_and_resamples(tmp_path):
    rows = []
    for k, (group, rate) in enumerate([("A", 128.0), ("A", 128.0), ("B", 64.0), ("B", 128.0)]):
        pid = f"sub-{k:02d}"
        n = int(rate * 10)
        _write(tmp_path / pid / "eeg", _signal(n=n, seed=k), stem=f"{pid}_task-rest", sfreq=rate)
        rows.append({"participant_id": pid, "group": group,
                     "path": f"{pid}/eeg/{pid}_task-rest_eeg.csv"})
    pd.DataFrame(rows).to_csv(tmp_path / "participants.tsv", sep="\t", index=False)
    cohort = load_cohort(tmp_path)
    assert cohort.modality == "eeg"
    report = check_cohort(cohort, EEGSpec(min_duration=5.0))
    assert not [p for p in report.problems if p.is_error]
    assert report.sfreq == 128.0


def test_run_manifest_hashes_the_sidecars(tmp_path):
    from neurodx.study import input_hashes as _input_hashes

    _write(tmp_path / "sub-01" / "eeg", _signal(), stem="sub-01_task-rest")
    pd.DataFrame([{"participant_id": "sub-01", "group": "A",
                   "path": "sub-01/eeg/sub-01_task-rest_eeg.csv"}]).to_csv(
        tmp_path / "participants.tsv", sep="\t", index=False)
    hashed = set(_input_hashes(load_cohort(tmp_path)))
    assert {"sub-01/eeg/sub-01_task-rest_eeg.json",
            "sub-01/eeg/sub-01_task-rest_channels.tsv"} <= hashed


def test_status_bad_in_channels_table_marks_the_channel(tmp_path):
    path = _write(tmp_path, _signal())
    channels = text_eeg_sidecars(path)[1]
    table = pd.read_csv(channels, sep="\t")
    table["status"] = ["good", "bad", "good", "good"]
    table.to_csv(channels, sep="\t", index=False)
    assert read_eeg(path).info["bads"] == ["Cz"]
    # text files carry no electrode positions: interpolation is refused, naming the setting
    from neurodx.io.validation import check_eeg_file
    _, problems = check_eeg_file(path, EEGSpec(bad_channels="interpolate"))
    assert any(p.is_error and "no electrode positions" in p.message
               and "eeg.bad_channels" in p.message for p in problems)
