"""Run configurations: YAML files validated against a declared schema on load.

Every key a study config takes is declared once, as a pydantic model
(:mod:`neurodx.config.schema`; route parameters per route kind in
:mod:`neurodx.config.routes`): its type, range or choices, default and meaning.
An unknown key, a value of the wrong type or out of range is reported with the
file and the key's path before any work is done (``c.yaml: cv.n_split: unknown key
(did you mean 'n_splits'?)``, ``c.yaml: statistics.level: expected a level between 0
and 1 (exclusive), e.g. 0.95, got 1.5 (not in (0, 1))``). The same models give the
JSON Schema editors use (``neurodx config-schema``, ``configs/neurodx.schema.json``)
and the documentation's config reference.

Why pydantic (v2): the JSON Schema export is built in (``model_json_schema``), each
error carries its location, so messages name the dotted key path, and strict types,
``extra="forbid"``, ``Literal`` choices and ``ge``/``lt`` bounds say in one
declaration what scikit-learn's ``_parameter_constraints`` or hand-written checks
said in several places. MNE-BIDS-Pipeline validates its user config the same way
(a pydantic model built from its documented defaults, ``strict=True``,
``extra="forbid"``, plus a difflib "did you mean" for misspelled names). attrs +
cattrs would need a separate JSON Schema generator and structured error paths of
our own.

Readers keep the plain mapping (``cfg["cv"]["n_splits"]``, ``cfg.get``,
``cfg.data``); new code can use the typed view ``cfg.model``
(:class:`~neurodx.config.schema.StudyConfig`).
"""
from pathlib import Path

from .json_schema import config_json_schema, schema_text, write_config_schema
from .loader import DEFAULTS, FREE_FORM, Config, load_config, parse_assignments, validate_config
from .routes import ROUTE_KINDS, RouteParameters, register_route_kind
from .schema import StudyConfig

__all__ = ["DEFAULTS", "Config", "load_config", "parse_assignments", "FREE_FORM",
           "SHIPPED_PIPELINES", "StudyConfig", "validate_config", "ROUTE_KINDS",
           "RouteParameters", "register_route_kind", "config_json_schema",
           "schema_text", "write_config_schema"]

#: The study modules shipped with neurodx; a config may name these without opting in.
SHIPPED_PIPELINES = Path(__file__).resolve().parents[2] / "pipelines"
