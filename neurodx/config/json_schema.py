"""The JSON Schema of a study config, for editors (``configs/neurodx.schema.json``).

A YAML file whose first line is ``# yaml-language-server: $schema=neurodx.schema.json``
gets completion, descriptions and checks in editors using the YAML language
server (VS Code's YAML extension, vim/neovim LSP clients...). A route's keys are
checked by its kind: ``routes.<name>`` is one of the route-kind models of
:data:`neurodx.config.routes.ROUTE_KINDS` when its ``kind`` is declared.
"""
from __future__ import annotations

import json
from pathlib import Path

from .routes import ROUTE_KINDS
from .schema import StudyConfig

__all__ = ["config_json_schema", "write_config_schema", "schema_text"]

_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def config_json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a study config, routes checked per kind."""
    schema = StudyConfig.model_json_schema()
    defs = schema.setdefault("$defs", {})
    branches = []
    for kind, model in ROUTE_KINDS.items():
        sub = model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(sub.pop("$defs", {}))
        defs[model.__name__] = sub
        branches.append({"if": {"properties": {"kind": {"const": kind}},
                                "required": ["kind"]},
                         "then": {"$ref": f"#/$defs/{model.__name__}"}})
    route = {"type": "object", "required": ["kind"],
             "properties": {"kind": {"type": "string", "description": "route kind",
                                     "examples": list(ROUTE_KINDS)}},
             "allOf": branches}
    schema["properties"]["routes"]["additionalProperties"] = route
    return {"$schema": _DIALECT, **schema, "title": "neurodx study config"}


def schema_text() -> str:
    """The schema as written to ``configs/neurodx.schema.json`` (stable key order)."""
    return json.dumps(config_json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_config_schema(path: str | Path) -> Path:
    """Write the JSON Schema to ``path`` (atomically) and return the path."""
    from .._atomic import atomic_write_text

    path = Path(path)
    atomic_write_text(path, schema_text())
    return path
