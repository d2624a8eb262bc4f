"""The declared config schema: load-time errors with the key's path, typed access,
the committed JSON Schema and the shipped configs against it."""
import json
from pathlib import Path

import pytest
import yaml

from neurodx.cli import main
from neurodx.config import DEFAULTS, StudyConfig, config_json_schema, load_config, schema_text
from neurodx.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


@pytest.mark.parametrize("text, message", [
    # values that loaded before the schema and failed hours later (issue 18)
    ("statistics: {level: 1.5}", r"^<config>: statistics\.level: .* got 1\.5 \(not in \(0, 1\)\)$"),
    ("cv: {n_splits: 1}", r"^<config>: cv\.n_splits: .* got 1 \(below the minimum 2\)$"),
    ("statistics: {permutations: -1}",
     r"^<config>: statistics\.permutations: .* got -1 \(below the minimum 0\)$"),
    # values that could reach metrics.json as Infinity or NaN, or break a seeded generator
    ("statistics: {level: .inf}", r"statistics\.level: .* got inf \(not a finite number\)"),
    ("cv: {test_size: .nan}", r"cv\.test_size: .* got nan \(not a finite number\)"),
    ("eeg: {flat_ratio: .inf}", r"eeg\.flat_ratio: .* \(not a finite number\)"),
    ("seed: 4294967296", r"seed: .* got 4294967296 \(not in \[0, 4294967295\]\)"),
    ("volume: {n_parcels: 1}", r"volume\.n_parcels: expected an integer >= 2"),
    ("volume: {high_pass: 0}", r"volume\.high_pass: expected a frequency > 0"),
    ("eeg: {saturation_fraction: 0}", r"eeg\.saturation_fraction: expected a fraction > 0"),
    # choices name the allowed values
    ("cv: {scheme: kfold}", r"cv\.scheme: expected one of stratified_kfold, holdout, "
                            r"leave_one_site_out, got 'kfold'"),
    ("volume: {intensity: HU}", r"volume\.intensity: expected one of auto, hu, display"),
    ("volume: {parcellation: wart}", r"volume\.parcellation: expected one of ward"),
    ("eeg: {text_unit: volts}", r"eeg\.text_unit: expected uV, mV, V or nV .* got 'volts'"),
    ("volume: {expected_shape: [64, 64]}", r"volume\.expected_shape: expected 3 sizes"),
    ("cv: {n_splits: null}", r"cv\.n_splits: expected an integer, got None"),
    ("eeg: {sfreq_polcy: refuse}", r"eeg\.sfreq_polcy: unknown key \(did you mean "
                                   r"'sfreq_policy'\?\)"),
])
def test_a_bad_value_is_one_error_naming_its_path(text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(text=text)


@pytest.mark.parametrize("route, message", [
    ("{kind: cnn, preset: ct_fats}", r"routes\.r\.preset: expected one of .*ct_fast.*, "
                                     r"got 'ct_fats'"),
    ("{kind: cnn}", r"routes\.r\.preset: required"),
    ("{kind: cnn, preset: fmri_ma_fast, frame_stride: 0}",
     r"routes\.r\.frame_stride: expected an integer >= 1, got 0"),
    ("{kind: cnn, preset: eeg_fast, overlap: 1.0}", r"routes\.r\.overlap: expected a fraction "
                                                    r">= 0 and < 1, or preset, got 1\.0"),
    ("{kind: cnn, preset: eeg_fast, window: soon}", r"routes\.r\.window: expected "),
    ("{kind: cnn, preset: eeg_fast, epochs: -1}", r"routes\.r\.epochs: .* got -1"),
    ("{kind: cnn, preset: eeg_fast, val_fraction: 1}", r"routes\.r\.val_fraction: .* got 1"),
    ("{kind: cnn, preset: eeg_fast, epoch: 3}", r"routes\.r\.epoch: not a setting of preset "
                                               r"eeg_fast \(did you mean 'epochs'\?\)"),
    ("{kind: cnn, preset: eeg_fast, frame_stride: 2}", r"routes\.r\.frame_stride: not a "
                                                      r"setting of preset eeg_fast"),
    ("{kind: braindecode, model: EEGNet, bogus: 1}", r"routes\.r\.bogus: not a setting of "
                                                    r"preset eeg_hc_fes_chr \(settings"),
    ("{kind: rmt_les, overlap: -0.1}", r"routes\.r\.overlap: expected a fraction"),
    ("{kind: rmt_les, classifer: svc}", r"routes\.r\.classifer: unknown key \(did you mean "
                                        r"'classifier'\?\)"),
    ("{kind: rmt_les, classifier: forest}", r"routes\.r\.classifier: expected one of svc, "
                                            r"logreg"),
    ("{kind: rmt_tangent, method: shrink}", r"routes\.r\.method: expected one of clip"),
    ("{kind: tangent_space, metric: 3}", r"routes\.r\.metric: expected a string"),
    ("{kind: rmt_les_tangent, c_max: 0}", r"routes\.r\.c_max: expected a ratio > 0"),
    ("{kind: rmt_les, tune: {param_grid: {clf__C: []}}}",
     r"routes\.r\.tune\.param_grid\.clf__C: list should have at least 1 item"),
    ("{kind: rmt_les, tune: {param_grid: {clf__C: [1]}, inner_splits: 1}}",
     r"routes\.r\.tune\.inner_splits: expected an integer >= 2"),
    ("{kind: braindecode, model: ShallowNet}", r"routes\.r\.model: expected one of "
                                               r"ShallowFBCSPNet"),
])
def test_a_route_is_validated_by_its_kind_at_load(tmp_path, route, message):
    path = tmp_path / "c.yaml"
    path.write_text(f"routes:\n  r: {route}\n")
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_values_the_readers_accept_still_load():
    cfg = load_config(text="cohort: {groups: [0, 1]}\neeg: {text_unit: µV}")
    assert cfg["cohort"]["groups"] == [0, 1] and cfg["eeg"]["text_unit"] == "µV"
    # what the training engine takes (0 epochs: calibration only; no validation subjects)
    load_config(text="routes: {r: {kind: cnn, preset: ct_fast, epochs: 0, val_fraction: 0.0, "
                     "dropout: 0, patience: null, norm: group}}")


def test_set_overrides_of_route_settings_are_validated_too():
    from neurodx.config import parse_assignments

    with pytest.raises(ConfigError, match=r"routes\.eeg_cnn\.preset: expected one of"):
        load_config(ROOT / "configs" / "hc_fes_chr_eeg.yaml",
                    overrides=parse_assignments(["routes.eeg_cnn.preset=eeg_fats"]))


def test_a_kind_the_study_module_defines_is_left_to_it():
    cfg = load_config(text="routes: {mine: {kind: my_kind, whatever: [1, 2]}}")
    assert cfg.model.routes["mine"].kind == "my_kind"
    assert cfg["routes"]["mine"] == {"kind": "my_kind", "whatever": [1, 2]}


def test_typed_access_agrees_with_the_mapping(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("cohort: {path: data}\ncv: {n_splits: 3}\nwindows: {length: 4}\n"
                    "routes: {a: {kind: rmt_les, overlap: 0.25}, "
                    "b: {kind: cnn, preset: eeg_fast, epochs: 2}}\n")
    cfg = load_config(path)
    assert isinstance(cfg.model, StudyConfig)
    assert cfg.model.cv.n_splits == cfg["cv"]["n_splits"] == 3
    assert cfg.model.windows.length == cfg["windows"]["length"] == 4.0
    assert cfg.model.cohort.path == cfg["cohort"]["path"] == str((tmp_path / "data").resolve())
    assert cfg.model.routes["a"].overlap == 0.25 and cfg.model.routes["b"].epochs == 2
    # Route settings reach the mapping as written (absent keys stay absent: presets and
    # study defaults fill them when the route is built).
    assert cfg["routes"]["b"] == {"kind": "cnn", "preset": "eeg_fast", "epochs": 2}


def test_the_mapping_keeps_the_shape_readers_and_manifests_rely_on():
    cfg = load_config(text="{}")
    assert list(cfg.data) == list(DEFAULTS)
    for section, value in DEFAULTS.items():
        if isinstance(value, dict) and section != "routes":
            assert list(cfg[section]) == list(value), section
    assert cfg.data == json.loads(json.dumps(cfg.data))        # JSON as it is (manifests)


def test_numbers_are_kept_as_written_where_the_default_is_null():
    # As before the schema (manifests record this mapping): 250 stays 250 where the
    # default is null, and a number setting with a number default becomes a float.
    cfg = load_config(text="eeg: {sfreq: 250}\npreprocessing: {notch: 50, l_freq: 1.5}\n"
                           "windows: {length: 4}")
    assert type(cfg["eeg"]["sfreq"]) is int and type(cfg["preprocessing"]["notch"]) is int
    assert cfg["preprocessing"]["l_freq"] == 1.5 and type(cfg["windows"]["length"]) is float


def test_the_hash_is_of_the_file_bytes(tmp_path):
    import hashlib

    path = tmp_path / "c.yaml"
    path.write_bytes(b"cv: {n_splits: 3}   # a comment counts\n")
    assert load_config(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_committed_json_schema_is_up_to_date():
    committed = (ROOT / "configs" / "neurodx.schema.json").read_text(encoding="utf-8")
    # Compared as JSON values, in the form every supported pydantic writes: older
    # releases write a bound 1.0 as 1, a one-value Literal with "enum" beside "const",
    # and leave out "additionalProperties": true (both forms mean the same).
    assert _same_form(json.loads(committed)) == _same_form(json.loads(schema_text())), (
        "configs/neurodx.schema.json is stale: run "
        "neurodx config-schema --out configs/neurodx.schema.json")


def _same_form(node):
    if isinstance(node, dict):
        out = {k: _same_form(v) for k, v in node.items()
               if not (k == "additionalProperties" and v is True)}
        if "const" in out and out.get("enum") == [out["const"]]:
            del out["enum"]
        return out
    if isinstance(node, list):
        return [_same_form(v) for v in node]
    return node


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_loads_and_names_the_schema(config):
    load_config(config)
    assert config.read_text().splitlines()[0] == \
        "# yaml-language-server: $schema=neurodx.schema.json"


def test_the_json_schema_accepts_the_shipped_configs_and_refuses_bad_values():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(config_json_schema())
    for config in CONFIGS:
        errors = list(validator.iter_errors(yaml.safe_load(config.read_text())))
        assert not errors, (config.name, [e.message for e in errors])
    for bad in ({"cv": {"n_splits": 1}}, {"statistics": {"level": 1.5}}, {"cv": {"n_split": 3}},
                {"routes": {"r": {"kind": "rmt_les", "overlap": 1}}},
                {"routes": {"r": {"kind": "cnn", "preset": "nope"}}},
                {"routes": {"r": {"kind": "rmt_les", "classifer": "svc"}}}):
        assert list(validator.iter_errors(bad)), bad
    # A kind of the study module's own is left open, as the loader leaves it.
    assert not list(validator.iter_errors({"routes": {"r": {"kind": "mine", "x": 1}}}))


def test_config_schema_command_writes_the_schema(tmp_path, capsys):
    out = tmp_path / "schema.json"
    assert main(["config-schema", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == config_json_schema()
    assert str(out) in capsys.readouterr().out
    assert main(["config-schema"]) == 0
    assert json.loads(capsys.readouterr().out) == config_json_schema()
