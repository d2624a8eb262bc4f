"""Code in configs is opt-in: a pipeline file outside pipelines/ runs only with --allow-code."""
from pathlib import Path

import pytest

import neurodx.config
from neurodx.cli import main
from neurodx.config import SHIPPED_PIPELINES, load_config
from neurodx.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EVIL = """
from pathlib import Path
Path({marker!r}).write_text("ran")
"""


@pytest.fixture
def evil(tmp_path):
    """A study module that leaves a marker file when it is imported (i.e. run)."""
    marker = tmp_path / "marker"
    path = tmp_path / "evil.py"
    path.write_text(EVIL.format(marker=str(marker)))
    return path, marker


def test_the_shipped_configs_need_no_flag():
    for config in sorted((ROOT / "configs").glob("*.yaml")):
        assert Path(load_config(config)["pipeline"]).is_relative_to(SHIPPED_PIPELINES)


def test_a_pipeline_outside_pipelines_needs_allow_code(tmp_path, evil):
    path, _ = evil
    (tmp_path / "c.yaml").write_text("pipeline: evil.py\n")
    with pytest.raises(ConfigError, match=r"c.yaml: pipeline: .*evil.py is outside neurodx's "
                                          r"pipelines/ folder; .* pass --allow-code"):
        load_config(tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml", allow_code=True)["pipeline"] == str(path)
    # `..` out of pipelines/ is outside too, and so is a --set override
    with pytest.raises(ConfigError, match="--allow-code"):
        load_config(text=f"pipeline: {SHIPPED_PIPELINES / '..' / 'evil.py'}")
    with pytest.raises(ConfigError, match="--allow-code"):
        load_config(ROOT / "configs" / "brain_ct.yaml", overrides={"pipeline": str(path)})


def test_a_symlink_in_pipelines_is_judged_by_its_target(tmp_path, evil, monkeypatch):
    shipped = tmp_path / "pipelines"
    shipped.mkdir()
    (shipped / "study.py").write_text("def build_routes(context):\n    return []\n")
    (shipped / "link.py").symlink_to(evil[0])
    monkeypatch.setattr(neurodx.config, "SHIPPED_PIPELINES", shipped)
    assert load_config(text=f"pipeline: {shipped / 'study.py'}")["pipeline"] == \
        str(shipped / "study.py")
    with pytest.raises(ConfigError, match=r"evil.py is outside"):
        load_config(text=f"pipeline: {shipped / 'link.py'}")


@pytest.mark.parametrize("command", ["compare", "train"])
def test_the_commands_run_a_foreign_pipeline_only_with_allow_code(command, evil, tmp_path,
                                                                  small_eeg_cohort, capsys):
    path, marker = evil
    args = [command, str(ROOT / "configs" / "hc_fes_chr_eeg.yaml"), "--cohort",
            str(small_eeg_cohort), "--set", f"pipeline={path}", "--set", "eeg.min_duration=0",
            "--out", str(tmp_path / "out")] + (["--route", "rmt_les"] if command == "train"
                                               else [])
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert not marker.exists()
    assert len(err.splitlines()) == 1 and "pass --allow-code" in err
    # With the flag the file runs (and, defining no build_routes, stops the command).
    assert main([*args, "--allow-code"]) == 2
    assert marker.read_text() == "ran"
    assert "must define build_routes" in capsys.readouterr().err


def test_features_refuses_a_config_with_a_foreign_pipeline(evil, tmp_path, small_eeg_cohort,
                                                          capsys):
    (tmp_path / "c.yaml").write_text(f"pipeline: {evil[0]}\n")
    assert main(["features", str(small_eeg_cohort), "--out", str(tmp_path / "f.csv"),
                 "--config", str(tmp_path / "c.yaml"), "--quiet"]) == 2
    assert "pass --allow-code" in capsys.readouterr().err
    assert not evil[1].exists()
