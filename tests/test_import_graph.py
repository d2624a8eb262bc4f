"""The package's import graph: no cycle, no private name across subpackages, one
home for modality branches.

Imports are read with ``ast`` from every module of ``neurodx`` (module level and
inside functions alike: an import in a function body still makes the cycle).

Rule (b): a name beginning with ``_`` may be imported only within its own
subpackage (``neurodx.rmt.spectra`` -> ``neurodx.rmt.band_fft`` is fine). The
top-level private modules (``neurodx/_atomic.py``, ``_json.py``, ``_logging.py``...)
are shared infrastructure: importing their public names from anywhere is allowed,
but not their own ``_``-names from another subpackage.
"""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "neurodx"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, path: Path, text: str | None = None):
    """``(target module, imported name or None, line)`` of every import in a module."""
    tree = ast.parse(path.read_text() if text is None else text, filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, path, node)
            for alias in node.names:
                # ``from . import x`` may import a submodule x
                sub = f"{target}.{alias.name}"
                yield (sub if sub in MODULES else target), alias.name, node.lineno


def _graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        targets = set()
        for target, _, _ in _imports(module, path):
            # importing a.b.c runs a and a.b first: count the deepest known module
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target.startswith("neurodx") and target != module:
                targets.add(target)
        graph[module] = targets
    return graph


def _cycle(graph) -> list[str] | None:
    """One cycle of ``graph`` (a list of modules), or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _package_imports(graph) -> dict[str, set[str]]:
    """Module -> modules it imports, ignoring a package's own ``__init__`` re-exports.

    ``neurodx/__init__.py`` and each subpackage's ``__init__`` import their
    submodules to re-export them; an import of ``neurodx.io`` from ``neurodx.io.x``
    resolves to that ``__init__``, which is part of the package, not a cycle in
    the code's data flow, so edges from a package's modules to their own package
    ``__init__`` are left out.
    """
    out = {}
    for module, targets in graph.items():
        out[module] = {t for t in targets if not module.startswith(t + ".")}
    return out


def test_the_graph_sees_module_and_function_level_imports():
    graph = _graph()
    # a module-level and a function-level import of the same shape are both seen
    assert "neurodx.study" in graph["neurodx.evaluation.compare"]
    assert "neurodx.evaluation.compare" in graph["neurodx.cli"]      # inside _cmd_compare
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_neurodx_modules():
    cycle = _cycle(_package_imports(_graph()))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def _subpackage(module: str) -> str:
    """``neurodx.rmt.spectra`` -> ``neurodx.rmt``; top-level modules are their own."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 or (module in MODULES and
                                                     MODULES[module].name == "__init__.py") \
        else module


def _private_across(module: str, path: Path, text: str | None = None) -> list[str]:
    offenders = []
    for target, name, line in _imports(module, path, text):
        if not target.startswith("neurodx") or name is None or not name.startswith("_"):
            continue
        if name == "__version__":
            continue        # the package's version: public by convention
        if _subpackage(target) != _subpackage(module):
            offenders.append(f"{path.relative_to(ROOT.parent)}:{line}: {name} from {target}")
    return offenders


def test_the_private_name_rule_sees_an_offender():
    path = ROOT / "bundles" / "store.py"
    text = ("from ..evaluation.compare import _git_commit, versions\n"
            "from .signing import _same_package\nfrom .._atomic import atomic_write_text\n")
    assert _private_across("neurodx.bundles.store", path, text) == [
        "neurodx/bundles/store.py:1: _git_commit from neurodx.evaluation.compare"]


def test_no_private_name_is_imported_from_another_subpackage():
    offenders = [o for module, path in MODULES.items() for o in _private_across(module, path)]
    assert not offenders, "private names imported across packages:\n" + "\n".join(offenders)


# The check: grep -rn 'modality ==\|modality in\|modality !=\|== "eeg"\|...' neurodx
MODALITY_COMPARISON = re.compile(
    r"""modality (==|!=|in\b)|(==|!=) ["'](eeg|regions|volume)["']""")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modality_names_are_compared_only_in_the_registry(module):
    if module == "neurodx.study.modalities":
        return
    text = MODULES[module].read_text()
    found = [f"{n}: {ln.strip()}" for n, ln in enumerate(text.splitlines(), 1)
             if MODALITY_COMPARISON.search(ln)]
    assert not found, f"{module}: modality branch outside study/modalities.py: {found}"


def test_compare_holds_the_cv_harness_only():
    # Issue 18: the study core lives in neurodx/study/; compare.py stays a harness.
    source = (Path(__file__).resolve().parents[1] / "neurodx" / "evaluation" / "compare.py")
    assert len(source.read_text().splitlines()) < 250
