"""Write pip constraints pinning each direct dependency to its lowest supported version.

The lower bounds are read from ``pyproject.toml`` (``[project] dependencies``, the
``>=`` of each), so the file cannot drift from what the package declares. ``make
test-lowest`` installs neurodx with these constraints into ``.venv-lowest`` and runs
the test suite there. torch is left out: the Makefile installs the local CPU build
(torch==2.13.0) first, as in ``.venv``, because an older torch from the package index
would be a multi-GB CUDA build.

Usage::

    python requirements/lowest_constraints.py [pyproject.toml] [out.txt]
"""
from __future__ import annotations

import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:          # Python 3.10: pip vendors the same parser
    from pip._vendor import tomli as tomllib
try:
    from packaging.requirements import Requirement
except ModuleNotFoundError:
    from pip._vendor.packaging.requirements import Requirement

#: Installed separately (see the module docstring).
SKIP = {"torch"}


def lowest_pins(pyproject: Path) -> list[str]:
    """``name==version`` for every direct dependency with a ``>=`` lower bound."""
    project = tomllib.loads(pyproject.read_text())["project"]
    pins = []
    for spec in project["dependencies"]:
        req = Requirement(spec)
        if req.name.lower() in SKIP:
            continue
        lows = [s.version for s in req.specifier if s.operator == ">="]
        if not lows:
            raise SystemExit(f"{pyproject}: dependency {spec!r} has no '>=' lower bound; "
                             "declare one (the lowest version the tests pass with)")
        pins.append(f"{req.name}=={lows[0]}")
    return pins


def main(argv: list[str]) -> int:
    pyproject = Path(argv[0]) if argv else Path("pyproject.toml")
    out = Path(argv[1]) if len(argv) > 1 else Path("requirements/lowest-constraints.txt")
    pins = lowest_pins(pyproject)
    out.write_text("# Written by requirements/lowest_constraints.py from pyproject.toml; "
                   "do not edit.\n# torch stays at the local CPU build (torch==2.13.0).\n"
                   + "\n".join(pins) + "\n")
    print(f"{out}: {len(pins)} lowest-version pins")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
