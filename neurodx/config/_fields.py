"""The base of every config model and the one way a setting is declared.

Every section and route-kind model inherits :class:`Section`: unknown keys are
errors (``extra="forbid"``), types are strict (``true`` is not a number, ``3.0`` is
not an integer, ``"3"`` is not a number; an integer is accepted for a number), and
NaN or infinity is never a value (it would reach ``metrics.json`` as ``Infinity``).
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Section", "setting", "EXPECTED_KEY"]

#: JSON Schema keyword holding the allowed values in words (docs, error messages).
EXPECTED_KEY = "x-expected"


class Section(BaseModel):
    """A mapping of the config whose keys are declared (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False,
                              validate_default=False)

    @field_validator("*", mode="wrap")
    @classmethod
    def _as_written(cls, value, handler, info):
        out = handler(value)
        # An integer for a number whose default is null stays an integer (250, not 250.0),
        # as before the schema: the mapping readers and run manifests see is unchanged.
        if type(value) is int and isinstance(out, float) and \
                cls.model_fields[info.field_name].default is None:
            return value
        return out


def setting(default: Any, description: str, *, expected: str | None = None,
            **constraints) -> Any:
    """A declared setting: its default, what it means and, when constrained, its range.

    Parameters
    ----------
    default : object
        The value when the key is absent.
    description : str
        What the key means, with its unit (shown in the config reference).
    expected : str, optional
        The allowed values in words (``"an integer >= 2"``), used by error messages
        and the config reference; recorded in the JSON Schema as ``x-expected``.
    **constraints
        Bounds for :class:`pydantic.Field` (``ge``, ``gt``, ``lt``, ``le``...).
    """
    extra = {EXPECTED_KEY: expected} if expected else None
    return Field(default, description=description, json_schema_extra=extra, **constraints)
