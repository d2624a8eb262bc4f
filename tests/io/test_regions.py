import numpy as np
import pandas as pd
import pytest

from neurodx.errors import RecordingError
from neurodx.io import read_region_timeseries

TABLE = np.random.default_rng(0).standard_normal((50, 4))


@pytest.mark.parametrize("name, write, has_names", [
    ("ts.tsv", lambda p: pd.DataFrame(TABLE, columns=list("ABCD")).to_csv(p, sep="\t", index=False), True),
    ("ts.csv", lambda p: pd.DataFrame(TABLE, columns=list("ABCD")).to_csv(p, index=False), True),
    ("ts_noheader.tsv", lambda p: np.savetxt(p, TABLE, delimiter="\t"), False),
    ("ts.npy", lambda p: np.save(p, TABLE), False),
    ("ts.1D", lambda p: np.savetxt(p, TABLE, header="AFNI 3dROIstats output\nsecond line"), False),
])
def test_round_trip(tmp_path, name, write, has_names):
    path = tmp_path / name
    write(path)
    ts = read_region_timeseries(path)
    assert ts.data.shape == (4, 50)          # regions x time
    assert np.allclose(ts.data, TABLE.T)
    assert ts.region_names == (tuple("ABCD") if has_names else
                               tuple(f"region_{i:03d}" for i in range(4)))


def test_nan_cells_are_kept_for_validation(tmp_path):
    path = tmp_path / "ts.tsv"
    path.write_text("a\tb\n1\t2\nn/a\t3\n4\t5\n")
    ts = read_region_timeseries(path)
    assert np.isnan(ts.data[0, 1])


@pytest.mark.parametrize("name, content, message", [
    ("bad.tsv", "a\tb\n1\tx\n2\t3\n", "non-numeric value 'x' at row 1, column 2"),
    ("one.csv", "a\n1\n2\n", "only 1 region column"),
    ("empty.1D", "# nothing\n", "empty table"),
    ("gone.tsv", None, "file not found"),
])
def test_bad_tables(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(RecordingError, match=message):
        read_region_timeseries(path)


def test_npy_never_unpickles(tmp_path):
    path = tmp_path / "obj.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(RecordingError, match="objects or records"):
        read_region_timeseries(path)


def test_truncated_npy(tmp_path):
    path = tmp_path / "t.npy"
    np.save(path, TABLE)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(RecordingError, match="declares shape .*truncated"):
        read_region_timeseries(path)


@pytest.mark.parametrize("name, sep", [("ts.tsv", "\t"), ("ts.csv", ","), ("ts.1D", " ")])
def test_values_are_the_decimal_text_exactly(tmp_path, name, sep):
    # every cell parses to the float Python's float() gives for its text (the round
    # trip of the fast parser), inline comments and indented comment lines included
    cells = np.random.default_rng(1).standard_normal((30, 5)) * 1e3
    text = [[f"{v:.17g}" if (i + j) % 3 else f"{v:.3f}" for j, v in enumerate(row)]
            for i, row in enumerate(cells)]
    lines = ["  # exported by a SYNTHETIC test"] + [sep.join(r) for r in text]
    lines[5] += " # an inline note"
    (tmp_path / name).write_text("\n".join(lines) + "\n")
    ts = read_region_timeseries(tmp_path / name)
    expected = np.array([[float(c) for c in r] for r in text]).T
    assert np.array_equal(ts.data, expected)
