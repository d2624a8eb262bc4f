"""Every reader, fed random and mutated files, gives a one-line error or a valid result.

Property: for any bytes on disk, a reader (and the per-file check that ``neurodx
inspect`` and ``neurodx score`` run) either returns, or raises a
:class:`~neurodx.errors.NeurodxError` whose message is one line. Never another
exception (a traceback for the user), never MemoryError, never a hang: each case
runs under a time limit. Inputs are a valid seed file per format, then random
bytes, truncations, byte flips, and header fields set to absurd values (counts
of 1e8, negative sizes, NaN rates, impossible dtypes).

Examples are derandomized (the same cases on every run) and few per strategy, so
the whole file runs in seconds.
"""
from __future__ import annotations

import gzip
import re
import signal
import struct
import zlib
from contextlib import contextmanager
from pathlib import Path

import mne
import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurodx.errors import NeurodxError
from neurodx.io import (EEGSpec, RegionSpec, VolumeSpec, check_eeg_file, check_region_file,
                        check_volume_file, read_eeg, read_region_timeseries, read_volume,
                        scan_values)

TIME_LIMIT_S = 10       # per case; a well-behaved reader needs milliseconds on these files
FUZZ = settings(max_examples=15, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


class Hang(Exception):
    """A reader ran past the time limit."""


@contextmanager
def _time_limit(seconds: float):
    def _raise(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _one_line(text: str) -> None:
    assert "\n" not in text and text.strip(), repr(text)


def _read_ok_or_clean_error(read, path):
    """``read(path)``: a result, or a one-line NeurodxError; anything else fails the test."""
    with _time_limit(TIME_LIMIT_S):
        try:
            return read(path)
        except NeurodxError as err:
            _one_line(str(err))
            return err


def _check_never_raises(check, path):
    """A per-file check returns (info, problems), each problem one line."""
    with _time_limit(TIME_LIMIT_S):
        info, problems = check(path)
    for p in problems:
        _one_line(p.message)
    return info, problems


# ----------------------------------------------------------------- seed files


class _Seeds(dict):
    def __repr__(self) -> str:          # failure reports show the case, not the bytes
        return "<seed files>"


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, bytes]:
    """One small valid file per format (bytes), and the BrainVision companions."""
    d = tmp_path_factory.mktemp("seeds")
    rng = np.random.default_rng(0)
    info = mne.create_info(["Fz", "Cz", "Pz", "Oz"], 64.0, "eeg")
    raw = mne.io.RawArray(rng.standard_normal((4, 128)) * 1e-5, info, verbose="ERROR")
    mne.export.export_raw(d / "x.edf", raw, fmt="edf", verbose="ERROR")
    mne.export.export_raw(d / "x.vhdr", raw, fmt="brainvision", verbose="ERROR")
    np.save(d / "x.npy", rng.standard_normal((30, 4)))
    pd.DataFrame(rng.standard_normal((30, 4)), columns=list("abcd")).to_csv(
        d / "x.tsv", sep="\t", index=False)
    nib.save(nib.Nifti1Image(rng.standard_normal((6, 5, 4)).astype(np.float32), np.eye(4)),
             d / "x.nii")
    from PIL import Image

    Image.fromarray(rng.integers(0, 255, (12, 10), dtype=np.uint8)).save(d / "x.png")
    from neurodx.io.dicom_writer import write_dicom_series

    write_dicom_series(d / "dcm", rng.integers(-1000, 1000, (8, 6, 3)))
    out = _Seeds({p.name: p.read_bytes() for p in d.iterdir() if p.is_file()})
    out["x.dcm"] = sorted((d / "dcm").iterdir())[0].read_bytes()
    out["dcm_others"] = [p.read_bytes() for p in sorted((d / "dcm").iterdir())[1:]]
    return out


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _write(work: Path, name: str, data: bytes) -> Path:
    path = work / name
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------- mutations

ABSURD_TEXT = st.sampled_from(["0", "-1", "-99999", "99999999", "1e308", "nan", "inf", "abc",
                               "", " ", "1e-300", "3.5", "2147483648", "\x00\xff"]) | \
    st.integers(-10 ** 7, 10 ** 9).map(str)
ABSURD_INT16 = st.sampled_from([0, -1, 1, 2 ** 15 - 1, -2 ** 15, 255]) | \
    st.integers(-2 ** 15, 2 ** 15 - 1)


def _truncate(data: bytes, cut: int) -> bytes:
    return data[: cut % max(len(data), 1)]


def _flip(data: bytes, edits) -> bytes:
    buf = bytearray(data)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    return bytes(buf)


EDITS = st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 255)), min_size=1,
                 max_size=8)


def _edf_field(data: bytes, which: str, value: str) -> bytes:
    """Set one EDF header field (ASCII, space padded) to ``value``."""
    ns = int(data[252:256].decode().strip())
    fixed = {"header_bytes": (184, 8), "n_records": (236, 8), "record_duration": (244, 8),
             "n_signals": (252, 4)}
    per_signal = {"physical_min": 104, "physical_max": 112, "digital_min": 120,
                  "digital_max": 128, "n_samples": 216}   # offsets of the ns-wide blocks
    if which in fixed:
        start, width = fixed[which]
    else:
        width = 8
        start = 256 + ns * per_signal[which]
    field = value.encode("latin-1")[:width].ljust(width)
    return data[:start] + field + data[start + width:]


EDF_FIELDS = st.sampled_from(["header_bytes", "n_records", "record_duration", "n_signals",
                              "physical_min", "physical_max", "digital_min", "digital_max",
                              "n_samples"])
VHDR_KEYS = st.sampled_from(["NumberOfChannels", "SamplingInterval", "DataFile", "MarkerFile",
                             "BinaryFormat", "DataOrientation", "DataFormat", "Ch1"])


def _vhdr_field(text: str, key: str, value: str) -> str:
    return re.sub(rf"(?m)^{key}=.*$", lambda m: f"{key}={value}", text)


# ----------------------------------------------------------------- EEG: EDF, BrainVision

def _eeg_both(path):
    _read_ok_or_clean_error(lambda p: read_eeg(p, preload=True), path)
    _check_never_raises(lambda p: check_eeg_file(p, EEGSpec()), path)


@FUZZ
@given(data=st.binary(max_size=600))
def test_edf_random_bytes(seeds, work, data):
    _eeg_both(_write(work, "r.edf", data))


@FUZZ
@given(cut=st.integers(0, 10 ** 6))
def test_edf_truncated(seeds, work, cut):
    _eeg_both(_write(work, "t.edf", _truncate(seeds["x.edf"], cut)))


@FUZZ
@given(field=EDF_FIELDS, value=ABSURD_TEXT)
def test_edf_absurd_header_fields(seeds, work, field, value):
    _eeg_both(_write(work, "h.edf", _edf_field(seeds["x.edf"], field, value)))


@FUZZ
@given(edits=EDITS)
def test_edf_flipped_bytes(seeds, work, edits):
    _eeg_both(_write(work, "f.edf", _flip(seeds["x.edf"], edits)))


@FUZZ
@given(key=VHDR_KEYS, value=ABSURD_TEXT, cut=st.integers(0, 10 ** 6), truncate_data=st.booleans())
def test_brainvision_absurd_header_and_short_data(seeds, work, key, value, cut, truncate_data):
    _write(work, "x.vmrk", seeds["x.vmrk"])
    data = seeds["x.eeg"]
    _write(work, "x.eeg", _truncate(data, cut) if truncate_data else data)
    text = seeds["x.vhdr"].decode("utf-8", "replace")
    path = _write(work, "x.vhdr", _vhdr_field(text, key, value).encode("utf-8", "replace"))
    _eeg_both(path)


@FUZZ
@given(data=st.binary(max_size=400))
def test_brainvision_random_header(seeds, work, data):
    _write(work, "y.vmrk", seeds["x.vmrk"])
    _write(work, "y.eeg", seeds["x.eeg"])
    _eeg_both(_write(work, "y.vhdr", data))


# ----------------------------------------------------------------- region tables: .npy, .tsv

def _regions_both(path):
    _read_ok_or_clean_error(read_region_timeseries, path)
    _check_never_raises(lambda p: check_region_file(p, RegionSpec()), path)


@FUZZ
@given(data=st.binary(max_size=400), ext=st.sampled_from([".npy", ".tsv", ".csv", ".1D"]))
def test_region_tables_random_bytes(work, data, ext):
    _regions_both(_write(work, f"r{ext}", data))


@FUZZ
@given(cut=st.integers(0, 10 ** 6), ext=st.sampled_from(["npy", "tsv"]))
def test_region_tables_truncated(seeds, work, cut, ext):
    _regions_both(_write(work, f"t.{ext}", _truncate(seeds[f"x.{ext}"], cut)))


@FUZZ
@given(shape=st.lists(st.integers(-5, 10 ** 12), max_size=4),
       descr=st.sampled_from(["<f8", "<f4", "<i2", "|b1", "<c16", "<c8", "|O", "<U5", "|V8",
                              "<M8[s]", ">f8", "<f2"]),
       fortran=st.booleans(), n_bytes=st.integers(0, 2000))
def test_npy_absurd_headers(work, shape, descr, fortran, n_bytes):
    header = ("{'descr': %r, 'fortran_order': %r, 'shape': %r, }"
              % (descr, fortran, tuple(shape))).encode("latin-1")
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header
    _regions_both(_write(work, "h.npy", data + bytes(n_bytes)))


def test_complex_npy_is_refused_not_truncated(work):
    path = work / "c.npy"
    np.save(path, np.ones((30, 4)) * (1 + 2j))
    with pytest.raises(NeurodxError, match="complex"):
        read_region_timeseries(path)


@FUZZ
@given(rows=st.lists(st.lists(st.sampled_from(["1", "-2.5", "nan", "", "x", "1e400", "\t",
                                                '"', "n/a", "#"]), max_size=6), max_size=8))
def test_tsv_odd_cells(work, rows):
    _regions_both(_write(work, "c.tsv", "\n".join("\t".join(r) for r in rows).encode()))


# ----------------------------------------------------------------- volumes: NIfTI, DICOM, PNG

def _volume_both(path):
    def read(p):
        img = read_volume(p)
        scan_values(img, source=p)     # voxels are read lazily: read them, as inspect does
        return img

    _read_ok_or_clean_error(read, path)
    _check_never_raises(lambda p: check_volume_file(p, VolumeSpec()), path)


@FUZZ
@given(data=st.binary(max_size=600),
       ext=st.sampled_from([".nii", ".nii.gz", ".dcm", ".png", ".jpg"]))
def test_volumes_random_bytes(work, data, ext):
    _volume_both(_write(work, f"r{ext}", data))


@FUZZ
@given(cut=st.integers(0, 10 ** 6), name=st.sampled_from(["x.nii", "x.png", "x.dcm"]))
def test_volumes_truncated(seeds, work, cut, name):
    _volume_both(_write(work, "t" + name[1:], _truncate(seeds[name], cut)))


NIFTI_FIELDS = {"dim0": (40, "<h"), "dim1": (42, "<h"), "dim2": (44, "<h"), "dim3": (46, "<h"),
                "dim4": (48, "<h"), "datatype": (70, "<h"), "bitpix": (72, "<h"),
                "pixdim1": (80, "<f"), "vox_offset": (108, "<f"), "scl_slope": (112, "<f")}


@FUZZ
@given(field=st.sampled_from(sorted(NIFTI_FIELDS)), value=ABSURD_INT16,
       as_float=st.sampled_from([0.0, -1.0, 1e30, float("nan"), float("inf"), 352.0]),
       gz=st.booleans())
def test_nifti_absurd_header_fields(seeds, work, field, value, as_float, gz):
    offset, fmt = NIFTI_FIELDS[field]
    packed = struct.pack(fmt, as_float if fmt == "<f" else value)
    data = seeds["x.nii"][:offset] + packed + seeds["x.nii"][offset + len(packed):]
    path = _write(work, "h.nii.gz" if gz else "h.nii", gzip.compress(data) if gz else data)
    _volume_both(path)


@FUZZ
@given(edits=EDITS, name=st.sampled_from(["x.nii", "x.png", "x.dcm"]))
def test_volumes_flipped_bytes(seeds, work, edits, name):
    _volume_both(_write(work, "f" + name[1:], _flip(seeds[name], edits)))


DICOM_FIELDS = st.sampled_from(["Rows", "Columns", "BitsAllocated", "BitsStored",
                                "SamplesPerPixel", "PixelRepresentation", "NumberOfFrames",
                                "RescaleSlope", "SliceThickness", "HighBit"])


@FUZZ
@given(field=DICOM_FIELDS, value=st.sampled_from([0, 1, 3, 7, 33, 4097, 65535]))
def test_dicom_series_with_an_absurd_header_field(seeds, work, field, value):
    import pydicom

    folder = work / "series"
    folder.mkdir(exist_ok=True)
    for i, other in enumerate(seeds["dcm_others"]):
        _write(folder, f"b{i}.dcm", other)
    path = _write(folder, "a.dcm", seeds["x.dcm"])
    ds = pydicom.dcmread(path)
    setattr(ds, field, value)
    ds.save_as(path)
    _volume_both(folder)


@FUZZ
@given(width=st.sampled_from([0, 1, 2 ** 16, 2 ** 31 - 1]),
       height=st.sampled_from([0, 1, 2 ** 16, 2 ** 31 - 1]),
       depth=st.sampled_from([1, 8, 16, 3]), color=st.sampled_from([0, 2, 3, 6, 9]))
def test_png_absurd_ihdr(seeds, work, width, height, depth, color):
    png = seeds["x.png"]
    ihdr = struct.pack(">IIBB", width, height, depth, color) + png[26:29]
    chunk = b"IHDR" + ihdr
    data = png[:12] + chunk + struct.pack(">I", zlib.crc32(chunk)) + png[33:]
    _volume_both(_write(work, "h.png", data))
