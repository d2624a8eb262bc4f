"""The scoring journal survives a kill mid-write."""
from neurodx.scoring import Journal, journal_path


def test_append_and_load(tmp_path):
    j = Journal(journal_path(tmp_path / "scores.csv"))
    assert j.path.name == "scores.csv.journal.jsonl" and j.load() == {}
    j.append({"key": "m:1", "status": "ok"})
    j.append({"key": "m:2", "status": "error"})
    assert Journal(j.path).load() == {"m:1": {"key": "m:1", "status": "ok"},
                                      "m:2": {"key": "m:2", "status": "error"}}


def test_a_torn_last_line_is_dropped_and_cut(tmp_path):
    j = Journal(tmp_path / "j.jsonl")
    j.append({"key": "m:1", "status": "ok"})
    with open(j.path, "ab") as fh:
        fh.write(b'{"key": "m:2", "sta')           # killed mid-write
    assert list(j.load()) == ["m:1"]
    j.append({"key": "m:3", "status": "ok"})
    assert list(Journal(j.path).load()) == ["m:1", "m:3"]
    assert j.path.read_text().count("\n") == 2


def test_lines_missing_their_fields_are_skipped_with_a_warning(tmp_path, caplog):
    caplog.set_level("WARNING", logger="neurodx")   # whatever level an earlier test left
    j = Journal(tmp_path / "scores.csv.journal.jsonl")
    j.append({"key": "m:1", "status": "ok", "proba": {"A": 1.0}, "predicted": "A"})
    with open(j.path, "a") as fh:
        fh.write('{"key": "m:2"}\n[1, 2]\n{"status": "ok"}\n{"key": "m:3", "status": "ok", '
                 '"proba": 3}\n')
    assert list(j.load()) == ["m:1"]
    assert "incomplete journal line" in caplog.text


def test_non_finite_values_are_journaled_as_strict_json(tmp_path):
    import json

    j = Journal(tmp_path / "j.jsonl")
    j.append({"key": "m:1", "status": "ok", "proba": {"A": float("nan")}})
    line = j.path.read_text()
    json.loads(line, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert j.load()["m:1"]["proba"] == {"A": None}
