"""The documentation site builds with warnings as errors, and its examples run.

``make test`` installs the ``docs`` extra, so this runs in CI: about a minute on 2
cores, most of it the three gallery examples on ``sample_data/`` (which is how they
are tested). Without Sphinx (a bare ``pip install neurodx[test]``) it is skipped.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.docs
def test_docs_build_without_warnings(tmp_path):
    for module in ("sphinx", "numpydoc", "sphinx_gallery", "myst_parser",
                   "pydata_sphinx_theme"):
        pytest.importorskip(module, reason="the docs extra is not installed "
                                           "(pip install -e '.[docs]')")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    run = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(tmp_path / "html")],
        capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    html = tmp_path / "html"
    for page in ("index.html", "getting_started.html", "generated/config_reference.html",
                 "auto_examples/plot_mp_white_noise.html", "generated/api_neurodx_rmt.html"):
        assert (html / page).is_file(), page
    # The config reference lists every key, from the code.
    from neurodx.config import DEFAULTS

    reference = (html / "generated/config_reference.html").read_text(encoding="utf-8")
    for section, value in DEFAULTS.items():
        keys = value if isinstance(value, dict) and type(value) is dict else {section: 0}
        for key in keys:
            name = section if key == section else f"{section}.{key}"
            assert name in reference, name
