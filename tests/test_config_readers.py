"""Issue 18: each config key has one reader.

Every ``config["section"]["key"]`` (or ``.get("key")``) read in the package is found by
parsing the source; a key read in two modules would be two places deciding what it
means (the defect the issue found: ``windows.overlap`` honoured by one route kind and
silently ignored by others). Shared settings are resolved once into
:class:`neurodx.study.StudyContext` by :func:`neurodx.study.make_context`; the config
package itself (the schema) is not counted. A whole section handed on
(``config["preprocessing"]``) counts as reading each of its keys.
"""
import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_CONFIG_NAMES = {"cfg", "config"}


def _read_keys(node):
    """The keys of a subscript / ``.get`` chain on a config object, or None."""
    keys = []
    while True:
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                and isinstance(node.slice.value, str):
            keys.append(node.slice.value)
            node = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "get" and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            keys.append(node.args[0].value)
            node = node.func.value
        else:
            break
    if (isinstance(node, ast.Name) and node.id in _CONFIG_NAMES) or \
            (isinstance(node, ast.Attribute) and node.attr == "config"):
        return tuple(reversed(keys))
    return None


def _readers():
    readers = defaultdict(set)
    files = [*ROOT.glob("neurodx/**/*.py"), *ROOT.glob("pipelines/*.py")]
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("neurodx/config/"):
            continue
        tree = ast.parse(path.read_text())
        inner = set()
        for node in ast.walk(tree):        # the inner links of a longer chain
            if isinstance(node, ast.Subscript):
                inner.add(id(node.value))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                inner.add(id(node.func.value))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Subscript, ast.Call)) and id(node) not in inner:
                keys = _read_keys(node)
                if keys:
                    readers[keys[:2]].add(rel)
    return readers


def _conflicts(readers):
    out = {}
    for keys, modules in readers.items():
        if len(keys) == 1:   # a whole section handed on reads each of its keys too
            modules = modules.union(*(m for k, m in readers.items()
                                      if len(k) == 2 and k[0] == keys[0]))
        if len(modules) > 1:
            out[".".join(keys)] = sorted(modules)
    return out


def test_the_scan_finds_config_reads():
    readers = _readers()
    # known single readers: the scan sees through chains and .get()
    assert readers[("cv",)] and readers[("windows", "length")] and readers[("routes",)]


def test_each_config_key_has_one_reader():
    conflicts = _conflicts(_readers())
    assert not conflicts, "config keys read in more than one module: " + "; ".join(
        f"{k}: {', '.join(m)}" for k, m in sorted(conflicts.items()))


def test_the_check_catches_a_second_reader():
    readers = _readers()
    readers[("windows", "length")] = readers[("windows", "length")] | {"neurodx/x.py"}
    assert "windows.length" in _conflicts(readers)
