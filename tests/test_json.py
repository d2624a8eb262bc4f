"""The one JSON encoder: strict output (no NaN/Infinity), numpy and path values."""
import json
from pathlib import Path

import numpy as np
import pytest

from neurodx._json import NON_FINITE_KEY, dumps


def _strict(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_become_null_and_are_recorded():
    obj = {"auc": float("nan"), "t": np.float64(np.inf), "ci": [0.5, -np.inf],
           "arr": np.array([1.0, np.nan]), "n": np.int64(3), "path": Path("/x"), "ok": 0.25}
    out = _strict(dumps(obj, indent=2))
    assert out["auc"] is None and out["t"] is None and out["ci"] == [0.5, None]
    assert out["arr"] == [1.0, None] and out["n"] == 3 and out["path"] == "/x"
    assert out["ok"] == 0.25
    assert out[NON_FINITE_KEY] == {"auc": "NaN", "t": "Infinity", "ci[1]": "-Infinity",
                                   "arr[1]": "NaN"}


def test_finite_objects_are_written_as_json_dumps_writes_them():
    obj = {"b": [1, 2.5, "x", None, True], "a": {"c": 1e-300}}
    assert dumps(obj, sort_keys=True) == json.dumps(obj, sort_keys=True)


def test_other_objects_need_a_fallback():
    with pytest.raises(TypeError):
        dumps({"x": object()})
    assert _strict(dumps({"x": object}, default=lambda o: "obj"))["x"] == "obj"


def test_jsonable_gives_plain_types_and_keeps_non_finite_numbers():
    from neurodx._json import jsonable

    out = jsonable({"a": (1, np.int64(2)), "p": Path("/x"), "f": np.float32(0.5),
                    "nan": float("nan"), 3: [np.bool_(True)]})
    assert out["a"] == [1, 2] and out["p"] == "/x" and out["f"] == 0.5
    assert out["nan"] != out["nan"] and out["3"] == [True]
    with pytest.raises(TypeError):
        jsonable({"x": object()})


def test_there_is_one_json_encoder():
    import re

    root = Path(__file__).resolve().parents[1] / "neurodx"
    pattern = re.compile(r"JSONEncoder|def (_?json_default|_jsonable|_json_roundtrip)\b")
    found = [str(p.relative_to(root)) for p in root.rglob("*.py")
             if pattern.search(p.read_text(encoding="utf-8"))]
    assert found == ["_json.py"]
