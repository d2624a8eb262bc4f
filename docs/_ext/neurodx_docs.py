"""Pages generated from the code at build time, so they cannot go stale.

* ``generated/config_reference.rst``: every config key, with its type, default,
  allowed values and description, from the declared schema (the JSON Schema of
  :mod:`neurodx.config`), and the parameters of each route kind;
* ``generated/validation.md``: ``validation/README.md`` when the tree has one;
* ``generated/api_<package>.rst``: an autosummary of the classes and functions each
  package's ``__init__`` exports (its ``__all__``, the public API).
"""
from __future__ import annotations

import importlib
import inspect
import shutil
from pathlib import Path

#: Packages documented in the API reference, in reading order (data flows this way).
API_PACKAGES = ["neurodx", "neurodx.io", "neurodx.preprocessing", "neurodx.rmt",
                "neurodx.models", "neurodx.study", "neurodx.evaluation", "neurodx.bundles", "neurodx.scoring",
                "neurodx.simulate", "neurodx.config"]


def _schema_type(prop: dict) -> str:
    """The type of a JSON Schema property in words (``number or null``)."""
    if "enum" in prop:
        return "choice"
    if "$ref" in prop:
        return "mapping"
    if "anyOf" in prop:
        return " or ".join(_schema_type(p) for p in prop["anyOf"])
    kind = prop.get("type", "any")
    if kind == "array" and isinstance(prop.get("items"), dict) and "type" in prop["items"]:
        return f"list of {prop['items']['type']}"
    if kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        return "mapping"
    return {"boolean": "true/false"}.get(kind, kind)


def _allowed(prop: dict) -> str:
    """Allowed values in words: the declared phrase, the choices or the bounds."""
    if "x-expected" in prop:
        return prop["x-expected"]
    for p in [prop, *prop.get("anyOf", [])]:
        if "enum" in p:
            return " | ".join(str(v) for v in p["enum"])
    return ""


def _cell(text: str) -> str:
    """Plain text in a table cell: reST markup characters escaped."""
    text = " ".join(str(text).split())
    for char in "\\*`_|":
        text = text.replace(char, "\\" + char)
    return text or "\\-"


def _default(prop: dict, required: bool) -> str:
    import yaml

    if required:
        return "(required)"
    if "default" not in prop or (prop["default"] is None and prop.get("type") == "object"):
        return ""
    shown = yaml.safe_dump(prop["default"], default_flow_style=True, width=10_000).strip()
    return f"``{shown.removesuffix('...').strip() or repr('')}``"


def _table(rows) -> list[str]:
    out = [".. list-table::", "   :header-rows: 1", "   :widths: 22 12 16 20 30", "",
           "   * - key", "     - type", "     - default", "     - allowed values",
           "     - description"]
    for key, prop, required in rows:
        out += [f"   * - ``{key}``", f"     - {_cell(_schema_type(prop))}",
                f"     - {_default(prop, required) or _cell('')}",
                f"     - {_cell(_allowed(prop))}", f"     - {_cell(prop.get('description', ''))}"]
    return out + [""]


def config_reference() -> str:
    """The config reference page, from the JSON Schema of :mod:`neurodx.config`."""
    from neurodx.config import config_json_schema
    from neurodx.config.routes import ROUTE_KINDS

    schema = config_json_schema()
    defs = schema["$defs"]

    def resolve(prop):
        ref = prop.get("$ref") or next((p["$ref"] for p in prop.get("anyOf", [])
                                        if "$ref" in p), None)
        return defs[ref.rsplit("/", 1)[1]] if ref else None

    text = ["Config reference", "================", "",
            "Every key a study config (``configs/*.yaml``) accepts: its type, default, "
            "allowed values and meaning. Generated from the declared schema "
            "(:mod:`neurodx.config`) when the documentation is built. A YAML file gives "
            "only what differs; an unknown key, a value of the wrong type or out of range "
            "is reported at load with the file and the key's path "
            "(``c.yaml: cv.n_splits: expected an integer >= 2 (folds per repeat), got 1 "
            "(below the minimum 2)``), and ``--set KEY=VALUE`` changes one value for one run. "
            "The same schema is written for editors by ``neurodx config-schema`` "
            "(``configs/neurodx.schema.json``; the shipped configs name it on their first "
            "line, ``# yaml-language-server: $schema=neurodx.schema.json``).", ""]
    top = [(key, prop, key in schema.get("required", []))
           for key, prop in schema["properties"].items() if resolve(prop) is None]
    text += ["Top level", "---------", "", *_table(top)]
    for key, prop in schema["properties"].items():
        section = resolve(prop)
        if section is None:
            continue
        title = f"``{key}``"
        # Descriptions of sections and route kinds are docstrings: reST already.
        text += [title, "-" * len(title), "", " ".join(section["description"].split()), ""]
        text += _table([(f"{key}.{name}", sub, name in section.get("required", []))
                        for name, sub in section["properties"].items()])
    text += ["Route kinds", "-----------", "",
             "A route (``routes.<name>``) is validated at load by the model of its "
             "``kind``; a kind a study module defines itself is checked by that module. "
             "RMT kinds take their pipeline factory's arguments (``bands``, ``sfreq``, "
             "``window`` and ``random_state`` come from ``windows`` and ``seed`` unless the "
             "route sets them); ``cnn`` settings left out keep the preset's value, and any "
             "other setting of the preset's estimator may be given too.", ""]
    for kind, model in ROUTE_KINDS.items():
        sub = defs[model.__name__]
        title = f"``kind: {kind}``"
        text += [title, "~" * len(title), "", " ".join(sub["description"].split()), ""]
        text += _table([(f"routes.<name>.{name}", p, name in sub.get("required", []))
                        for name, p in sub["properties"].items()])
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
