"""Sphinx configuration of the neurodx documentation (built offline by `make docs`)."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")

import neurodx  # noqa: E402

project = "neurodx"
author = "the neurodx developers"
copyright = "neurodx developers"
release = neurodx.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "neurodx_docs",          # docs/_ext: config reference and API lists from the code
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip"]
root_doc = "index"
templates_path = ["_templates"]

# Offline: no inventories are fetched (cross-links to numpy, MNE... are plain text).
intersphinx_mapping = {}

autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
autodoc_typehints = "none"          # numpydoc's Parameters sections say the types
numpydoc_show_class_members = False  # one page per class, methods listed by autodoc
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

myst_heading_anchors = 3
# The included READMEs start at ## and link to repository files that are not pages.
suppress_warnings = ["myst.header", "myst.xref_missing"]

html_theme = "pydata_sphinx_theme"
html_title = f"neurodx {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}

# Examples run on sample_data/ in seconds each; NEURODX_DOCS_PLOT=0 builds the pages
# without running them (used when time matters more than figures).
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "plot_gallery": os.environ.get("NEURODX_DOCS_PLOT", "True"),
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
}
