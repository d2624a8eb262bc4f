"""Pages generated from the code at build time, so they cannot go stale.

* ``generated/config_reference.rst``: every config key of
  :data:`neurodx.config.DEFAULTS` with its default and the comment written beside it
  in ``neurodx/config.py``;
* ``generated/api_<package>.rst``: an autosummary of the classes and functions each
  package's ``__init__`` exports (its ``__all__``, the public API).
"""
from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

#: Packages documented in the API reference, in reading order (data flows this way).
API_PACKAGES = ["neurodx", "neurodx.io", "neurodx.preprocessing", "neurodx.rmt",
                "neurodx.models", "neurodx.evaluation", "neurodx.bundles", "neurodx.scoring",
                "neurodx.simulate", "neurodx.config"]


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
    for (path, _, value), note in zip(rows, comments):
        if _is_free_form(value):
            note = (note + "; " if note else "") + "a mapping of your own names"
            shown = ", ".join(value) if value else "{}"
        else:
            shown = repr(value)
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


def generate(app, config=None) -> None:
    out = Path(app.srcdir) / "generated"
    out.mkdir(exist_ok=True)
    _write_if_changed(out / "config_reference.rst", config_reference())
    for package in API_PACKAGES:
        _write_if_changed(out / f"api_{package.replace('.', '_')}.rst", api_page(package))


def setup(app):
    # Before Sphinx lists the source files: autosummary makes its stubs from that list.
    app.connect("config-inited", generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
