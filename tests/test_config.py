import pytest

from neurodx.config import load_config
from neurodx.errors import ConfigError


def test_defaults_and_relative_paths(tmp_path):
    (tmp_path / "c.yaml").write_text("cohort: {path: data}\npipeline: ../p/study.py\n"
                                     "cv: {n_splits: 3}\n")
    cfg = load_config(tmp_path / "c.yaml", allow_code=True)
    assert cfg["cohort"]["path"] == str((tmp_path / "data").resolve())
    assert cfg["pipeline"] == str((tmp_path.parent / "p" / "study.py").resolve())
    assert cfg["cv"] == {"scheme": "stratified_kfold", "n_splits": 3, "n_repeats": 1,
                         "test_size": 0.25}
    assert cfg["windows"]["bands"]["alpha"] == [8.0, 13.0]
    assert len(cfg.sha256) == 64


@pytest.mark.parametrize("text, message", [
    ("cv: {n_split: 3}", r"cv\.n_split: unknown key \(did you mean 'n_splits'\?\)"),
    ("cv: {n_splits: three}", r"cv\.n_splits: expected an integer, got 'three'"),
    ("cv: {n_splits: true}", r"cv\.n_splits: expected an integer"),
    ("cohort: {skip_bad: 1}", r"cohort\.skip_bad: expected true/false"),
    ("bogus: 1", r"bogus: unknown key"),
    ("cohort: [1, 2]", r"cohort: expected a mapping"),
    ("routes: {a: {C: 1}}", r"routes\.a: expected a mapping with a 'kind'"),
    ("cohort: {modality: meg}", r"cohort\.modality: expected eeg, regions or volume"),
    ("cv: {n_splits: [", "not valid YAML"),
])
def test_errors_name_the_key_path(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(info.value).startswith(str(path))


def test_ints_are_accepted_for_floats_and_free_form_sections_are_kept():
    cfg = load_config(text="windows: {length: 4, bands: {mu: [8, 12]}}\n"
                           "routes: {r1: {kind: x, anything: [1, 2]}}")
    assert cfg["windows"]["length"] == 4.0 and isinstance(cfg["windows"]["length"], float)
    assert cfg["windows"]["bands"] == {"mu": [8, 12]}
    assert cfg["routes"]["r1"]["anything"] == [1, 2]


def test_overrides_apply_after_the_file(tmp_path):
    (tmp_path / "c.yaml").write_text("cohort: {path: data, groups: [A, B]}\n")
    cfg = load_config(tmp_path / "c.yaml", overrides={"cohort": {"path": "/abs/other"}})
    assert cfg["cohort"]["path"] == "/abs/other" and cfg["cohort"]["groups"] == ["A", "B"]


def test_missing_file():
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("/no/such.yaml")


def test_set_assignments_become_nested_validated_overrides(tmp_path):
    from neurodx.config import parse_assignments

    path = tmp_path / "c.yaml"
    path.write_text("cv: {n_splits: 5}\nroutes: {a: {kind: x, C: 1}}\n")
    over = parse_assignments(["cv.n_splits=3", "routes.a.C=0.5", "windows.length=4"])
    cfg = load_config(path, overrides=over)
    assert cfg["cv"]["n_splits"] == 3 and cfg["routes"]["a"] == {"kind": "x", "C": 0.5}
    assert cfg["windows"]["length"] == 4.0
    with pytest.raises(ConfigError, match="cv.n_split: unknown key"):
        load_config(path, overrides=parse_assignments(["cv.n_split=3"]))
    with pytest.raises(ConfigError, match="KEY.PATH=VALUE"):
        parse_assignments(["cv.n_splits"])


@pytest.mark.parametrize("text, message", [
    ("statistics: {bootstrap: 0}", r"statistics\.bootstrap: expected an integer >= 1"),
    ("statistics: {permutations: -1}", r"statistics\.permutations: expected an integer >= 0"),
    ("statistics: {level: 1.5}", r"statistics\.level: expected a level between 0 and 1"),
    ("statistics: {level: .nan}", r"statistics\.level: expected"),
    ("cv: {scheme: holdout, n_repeats: 0}", r"cv\.n_repeats: expected an integer >= 1"),
    ("cv: {n_splits: 1}", r"cv\.n_splits: expected an integer >= 2"),
    ("cv: {test_size: 1.0}", r"cv\.test_size: expected a fraction"),
    ("preprocessing: {notch: -50}", r"preprocessing\.notch: expected a frequency > 0"),
    ("preprocessing: {notch: fifty}", r"preprocessing\.notch: expected a frequency > 0"),
    ("preprocessing: {h_freq: .inf}", r"preprocessing\.h_freq: expected a frequency > 0"),
    ("preprocessing: {l_freq: 40, h_freq: 1}", r"preprocessing: l_freq \(40\) must be below"),
    ("windows: {overlap: 1}", r"windows\.overlap: expected a fraction >= 0 and < 1"),
    ("windows: {length: 0}", r"windows\.length: expected seconds > 0"),
    ("windows: {bands: {alpha: [13, 8]}}", r"windows\.bands\.alpha: expected \[low, high\]"),
    ("windows: {bands: {alpha: [-1, 8]}}", r"windows\.bands\.alpha: expected \[low, high\]"),
    ("seed: -3", r"seed: expected an integer >= 0"),
    ("- a list\n- at the top", r"expected a mapping of settings .* got a list"),
    ("just text", r"expected a mapping of settings .* got a string"),
])
def test_impossible_values_are_refused_at_load(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(info.value).startswith(str(path))        # the file is named


def test_set_values_are_range_checked_too():
    from neurodx.config import parse_assignments

    with pytest.raises(ConfigError, match=r"statistics\.bootstrap"):
        load_config(text="{}", overrides=parse_assignments(["statistics.bootstrap=0"]))


def test_shipped_configs_pass_the_range_checks():
    from pathlib import Path

    for path in sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml")):
        load_config(path)


def test_exponent_numbers_are_floats_in_files_and_on_the_command_line(tmp_path):
    # YAML 1.1 (PyYAML's default) reads 5e-4 as the string "5e-4"; the config reads
    # YAML 1.2 numbers, so a weight decay written the usual way reaches the estimator
    # as a number.
    from neurodx.config import load_config, parse_assignments

    assert parse_assignments(["routes.r.weight_decay=5e-4"]) == \
        {"routes": {"r": {"weight_decay": 5e-4}}}
    assert parse_assignments(["study=1e"]) == {"study": "1e"}
    path = tmp_path / "c.yaml"
    path.write_text("routes:\n  r: {kind: cnn, preset: eeg_fast, lr: 1e-3}\n")
    assert load_config(path)["routes"]["r"]["lr"] == 1e-3
