"""Pages generated from the code at build time, so they cannot go stale.

* ``generated/config_reference.rst``: every config key of
  :data:`neurodx.config.DEFAULTS` with its default and the comment written beside it
  in ``neurodx/config.py``;
* ``generated/validation.md``: ``validation/README.md`` when the tree has one;
* ``generated/api_<package>.rst``: an autosummary of the classes and functions each
  package's ``__init__`` exports (its ``__all__``, the public API).
"""
from __future__ import annotations

import importlib
import inspect
import re
import shutil
from pathlib import Path

#: Packages documented in the API reference, in reading order (data flows this way).
API_PACKAGES = ["neurodx", "neurodx.io", "neurodx.preprocessing", "neurodx.rmt",
                "neurodx.models", "neurodx.study", "neurodx.evaluation", "neurodx.bundles", "neurodx.scoring",
                "neurodx.simulate", "neurodx.config"]


#: What a key means, for the keys ``neurodx/config.py`` has no comment beside.
NOTES = {
    "study": "name of the study (the run folder defaults to runs/<study>)",
    "description": "one line shown in the report",
    "cohort.path": "cohort folder with participants.tsv (relative to the config file); "
                   "--cohort overrides it",
    "cohort.group_column": "participants.tsv column holding the label",
    "cohort.site_column": "participants.tsv column holding the site "
                          "(cv.scheme leave_one_site_out)",
    "eeg.n_channels": "required EEG channel count (null: the cohort's most common set)",
    "eeg.channel_names": "channels to use, in order (null: from the data)",
    "eeg.exclude": "channels to drop besides auto-typed EOG/ECG/EMG/status",
    "eeg.sfreq": "sampling rate used (null: the cohort's most common)",
    "eeg.sfreq_policy": "resample | refuse recordings at another rate",
    "eeg.min_duration": "shortest usable recording, seconds",
    "eeg.flat_std": "a channel whose SD is below this (volts) is flat",
    "eeg.flat_ratio": "a channel whose SD is below this fraction of the median SD is flat",
    "eeg.saturation_fraction": "share of clipped samples that makes a channel saturated",
    "regions.n_regions": "required region count (null: the cohort's most common)",
    "regions.min_timepoints": "shortest usable series, time points",
    "volume.require_4d": "time series required (fMRI): a 3-D volume is an error",
    "volume.min_frames": "fewest frames of a run when require_4d",
    "volume.expected_shape": "spatial shape of every volume, RAS order (null: the most common)",
    "volume.shape_policy": "refuse | resample volumes of another shape",
    "volume.series": "DICOM series to read in folders holding several (UID, number, largest)",
    "preprocessing.reference": "EEG reference: average, a list of channel names, or null "
                               "(keep the recording's)",
    "preprocessing.notch": "line frequency in Hz (null: no notch)",
    "preprocessing.l_freq": "high-pass edge in Hz (null: none)",
    "preprocessing.h_freq": "low-pass edge in Hz (null: none)",
    "preprocessing.sfreq": "resample to this rate in Hz (null: keep)",
    "windows.length": "window length in seconds (time points for region series)",
    "windows.overlap": "fraction of a window shared with the next",
    "windows.bands": "band name: [low, high] in Hz",
    "routes": "route name: settings read by the study's pipeline module",
    "cv.scheme": "stratified_kfold | holdout | leave_one_site_out; subjects never straddle "
                 "folds",
    "cv.n_splits": "folds per repeat",
    "cv.n_repeats": "repeats with reshuffled folds",
    "cv.test_size": "test share per class for holdout",
    "statistics.bootstrap": "subject-bootstrap resamples for the confidence intervals",
    "statistics.permutations": "label permutations (each refits the route)",
    "statistics.level": "confidence level of the intervals",
    "seed": "one seed for folds, permutations, bootstrap and training",
}


def _walk(defaults: dict, prefix: str = ""):
    for key, value in defaults.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and not _is_free_form(value):
            yield from _walk(value, path + ".")
        else:
            yield path, key, value


def _is_free_form(value) -> bool:
    from neurodx.config import FREE_FORM

    return isinstance(value, FREE_FORM)


def _comments(source: str, keys: list[str]) -> list[str]:
    """The ``# comment`` on the line of each key, scanning the DEFAULTS block in order."""
    lines = source[source.index("DEFAULTS"):].splitlines()
    out, line_no = [], 0
    for key in keys:
        pattern = re.compile(rf'"{re.escape(key)}"\s*:')
        while line_no < len(lines) and not pattern.search(lines[line_no]):
            line_no += 1
        line = lines[line_no] if line_no < len(lines) else ""
        # A comment belongs to the last key on its line.
        last_key = re.findall(r'"(\w+)"\s*:', line)
        out.append(line.split("#", 1)[1].strip() if "#" in line and last_key
                   and last_key[-1] == key else "")
    return out


def config_reference() -> str:
    from neurodx import config

    rows = list(_walk(config.DEFAULTS))
    comments = _comments(Path(config.__file__).read_text(encoding="utf-8"),
                         [key for _, key, _ in rows])
    text = ["Config reference", "================", "",
            "Every key a study config (``configs/*.yaml``) accepts, with its default. "
            "Generated from ``neurodx/config.py`` when the documentation is built. "
            "A YAML file gives only what differs; an unknown key or a value of the "
            "wrong type is reported with its path in the file, and ``--set KEY=VALUE`` "
            "changes one value for one run.", "",
            ".. list-table::", "   :header-rows: 1", "   :widths: 30 25 45", "",
            "   * - key", "     - default", "     - notes"]
    import yaml

    for (path, _, value), comment in zip(rows, comments):
        note = "; ".join(n for n in (NOTES.get(path, ""), comment) if n)
        if _is_free_form(value):
            shown = ", ".join(value) if value else "{}"
        else:
            shown = yaml.safe_dump(value, default_flow_style=True).strip()
            shown = shown.removesuffix("...").strip() or "''"
        text += [f"   * - ``{path}``", f"     - ``{shown}``" if shown else "     -",
                 f"     - {note}" if note else "     -"]
    text += ["", "Routes (``routes.<name>``) are defined by the study's pipeline module "
             "(``pipelines/<study>.py``); see the tutorials for each study's routes.", ""]
    return "\n".join(text)


def api_page(package: str) -> str:
    module = importlib.import_module(package)
    names = [n for n in getattr(module, "__all__", [])
             if not n.startswith("_") and (inspect.isclass(getattr(module, n, None))
                                            or inspect.isfunction(getattr(module, n, None)))]
    title = f"``{package}``"
    summary = (inspect.getdoc(module) or "").split("\n\n")[0]
    return "\n".join([title, "=" * len(title), "", f".. automodule:: {package}",
                      "   :no-members:", "", ".. currentmodule:: " + package, "",
                      ".. autosummary::", "   :toctree: stubs", "", *[f"   {n}" for n in names],
                      ""]) if names else f"{title}\n{'=' * len(title)}\n\n{summary}\n"


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def validation_page(root: Path) -> str:
    """The validation README when the tree has one (``make validate``), else a note."""
    if (root / "validation" / "README.md").is_file():
        return "```{include} ../../validation/README.md\n```\n"
    return ("# Validation\n\nThis source tree has no `validation/` folder; validation on "
            "public data sets is described there when it is present.\n")


def generate(app, config=None) -> None:
    out = Path(app.srcdir) / "generated"
    out.mkdir(exist_ok=True)
    # Stubs of names no longer exported would be orphan pages (a warning, so an error).
    shutil.rmtree(out / "stubs", ignore_errors=True)
    _write_if_changed(out / "config_reference.rst", config_reference())
    _write_if_changed(out / "validation.md", validation_page(Path(app.srcdir).parent))
    for package in API_PACKAGES:
        _write_if_changed(out / f"api_{package.replace('.', '_')}.rst", api_page(package))


def skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out methods defined outside neurodx (scikit-learn's ``set_*_request``,
    ``get_params``...): they are documented by their own projects."""
    if what == "class" and callable(obj):
        module = getattr(obj, "__module__", None) or ""
        if not module.startswith("neurodx"):
            return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", skip_foreign_members)
    # Before Sphinx lists the source files: autosummary makes its stubs from that list.
    app.connect("config-inited", generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
