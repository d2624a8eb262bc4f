"""One line per invalid value: the key's dotted path, what is allowed, what was given.

pydantic reports where an error is (``loc``) and of what type; this turns the first
error into the line neurodx prints (``bad.yaml: cv.n_splits: expected an integer >= 2
(folds per repeat), got 1 (below the minimum 2)``), with the allowed values or range
read from the declaring model, and the "did you mean" hint for an unknown key.
"""
from __future__ import annotations

import difflib
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from ._fields import EXPECTED_KEY

__all__ = ["describe_error"]

_TYPE_NAMES = {bool: "true/false", int: "an integer", float: "a number", str: "a string",
               list: "a list", dict: "a mapping"}
_TYPE_ERRORS = {"bool_type": bool, "int_type": int, "float_type": float, "string_type": str,
                "list_type": list, "dict_type": dict, "model_type": dict,
                "model_attributes_type": dict, "int_from_float": int}
_RANGE_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal",
                 "finite_number")


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _num(value) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _path(loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _field_at(model: type[BaseModel], loc) -> tuple[type[BaseModel] | None, Any]:
    """The model holding the last key of ``loc`` and that key's FieldInfo (or None)."""
    holder, info = model, None
    for i, part in enumerate(loc):
        if holder is None or not isinstance(part, str):
            return None, None
        fields = holder.model_fields
        if part not in fields:
            return (holder, None) if i == len(loc) - 1 else (None, None)
        info = fields[part]
        if i == len(loc) - 1:
            return holder, info
        holder = _model_in(info.annotation)
    return None, None


def _model_in(annotation) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _expected(info) -> str | None:
    extra = info.json_schema_extra if info is not None else None
    if callable(extra):              # a schema hook (route settings a preset fills)
        probe: dict = {}
        extra(probe)
        extra = probe
    return extra.get(EXPECTED_KEY) if isinstance(extra, dict) else None


def _nullable(annotation) -> bool:
    return get_origin(annotation) in (Union, UnionType) and type(None) in get_args(annotation)


def _choices(annotation) -> list | None:
    for arg in (annotation, *get_args(annotation)):
        if get_origin(arg) is Literal:
            return list(get_args(arg))
    return None


def _interval(info) -> str:
    lo = hi = None
    for m in info.metadata if info is not None else ():    # annotated_types Ge, Gt, Le, Lt
        for name, bracket in (("ge", "["), ("gt", "(")):
            if getattr(m, name, None) is not None:
                lo = (bracket, getattr(m, name))
        for name, bracket in (("le", "]"), ("lt", ")")):
            if getattr(m, name, None) is not None:
                hi = (bracket, getattr(m, name))
    if lo and hi:
        return f"not in {lo[0]}{_num(lo[1])}, {_num(hi[1])}{hi[0]}"
    if lo:
        return (f"below the minimum {_num(lo[1])}" if lo[0] == "[" else
                f"not above {_num(lo[1])}")
    if hi:
        return (f"above the maximum {_num(hi[1])}" if hi[0] == "]" else
                f"not below {_num(hi[1])}")
    return ""


def describe_error(err: ValidationError, model: type[BaseModel], prefix: tuple = ()) -> str:
    """The first error of ``err`` as ``path: what is wrong`` (without the file name).

    Parameters
    ----------
    err : pydantic.ValidationError
        Raised by ``model.model_validate``.
    model : type
        The model validated, to read the allowed values and ranges from.
    prefix : tuple
        Keys above the validated mapping (``("routes", "eeg_cnn")``).
    """
    first = err.errors(include_url=False)[0]
    kind, given = first["type"], first.get("input")
    # A union (``float | "preset"``) adds its member's tag to the location
    # ("constrained-float", "literal['preset']"): keys and indices only.
    loc = tuple(part for part in first["loc"]
                if isinstance(part, int) or str(part).isidentifier())
    holder, info = _field_at(model, loc)
    path = _path(prefix + loc) or "top level"
    if kind == "extra_forbidden":
        known = list(holder.model_fields) if holder is not None else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else \
            (f" (known keys: {', '.join(known)})" if known else "")
        return f"{path}: unknown key{hint}"
    if kind == "unknown_setting":                 # a key the route's estimator does not take
        return f"{path}.{first['ctx']['key']}: {first['msg']}{first['ctx']['hint']}"
    if kind == "missing":
        return f"{path}: required"
    expected = _expected(info)
    if kind in _RANGE_ERRORS:
        if expected is None:
            return f"{path}: {_lower(first['msg'])}, got {given!r}"
        reason = "not a finite number" if kind == "finite_number" else _interval(info)
        return f"{path}: expected {expected}, got {given!r}" + (f" ({reason})" if reason else "")
    if kind in ("literal_error", "enum"):
        choices = _choices(info.annotation) if info is not None else None
        what = expected or (f"one of {', '.join(map(str, choices))}" if choices
                            else first["msg"].removeprefix("Input should be ").lower())
        return f"{path}: expected {what}, got {given!r}"
    if kind in _TYPE_ERRORS:
        # A null-able setting says its range (``a frequency > 0 in Hz, or null``); the
        # others say the type, which is what the value got wrong.
        if expected and info is not None and _nullable(info.annotation):
            return f"{path}: expected {expected}, got {given!r}"
        return f"{path}: expected {_TYPE_NAMES[_TYPE_ERRORS[kind]]}, got {given!r}"
    if kind in ("too_short", "too_long"):
        return (f"{path}: expected {expected}, got {given!r}" if expected
                else f"{path}: {_lower(first['msg'])}, got {given!r}")
    # Custom checks (band edges, l_freq < h_freq, a preset name...) word their own message.
    message = first["msg"].removeprefix("Value error, ")
    return f"{path}: {message}" + ("" if kind == "pass_band" else f", got {given!r}")
