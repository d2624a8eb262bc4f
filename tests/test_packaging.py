"""pyproject.toml: lower bounds, extras, and the lowest-version constraints derived from them."""
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else \
    pytest.importorskip("pip._vendor.tomli")


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _script():
    spec = importlib.util.spec_from_file_location(
        "lowest_constraints", ROOT / "requirements" / "lowest_constraints.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_lowest_constraints_match_pyproject():
    pins = _script().lowest_pins(ROOT / "pyproject.toml")
    committed = [line for line in (ROOT / "requirements" / "lowest-constraints.txt")
                 .read_text().splitlines() if line and not line.startswith("#")]
    assert committed == pins
    assert len(pins) == len(_project()["dependencies"]) - 1        # torch is installed apart
    assert not any(p.startswith("torch==") for p in pins)


def test_a_dependency_without_lower_bound_is_refused(tmp_path):
    bad = tmp_path / "pyproject.toml"
    bad.write_text('[project]\nname = "x"\ndependencies = ["numpy>=1.24.1", "scipy"]\n')
    with pytest.raises(SystemExit, match="scipy.*lower bound"):
        _script().lowest_pins(bad)


def test_test_only_packages_are_in_the_test_extra_and_parquet_is_an_extra():
    project = _project()
    runtime = " ".join(project["dependencies"])
    extras = project["optional-dependencies"]
    for name in ("pybv", "eeglabio", "pytest", "hypothesis", "mpmath"):
        assert name not in runtime
        assert any(spec.startswith(name) for spec in extras["test"])
    assert any(spec.startswith("pyarrow>=") for spec in extras["parquet"])
