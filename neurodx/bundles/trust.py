"""Which object types a bundle's skops file may contain.

:func:`skops.io.load` rebuilds objects by type name; loading an arbitrary name can
run arbitrary code, so a bundle is loaded only when every type skops does not
already trust is on this list: classes (never functions) from neurodx,
scikit-learn and pyRiemann, and a few numpy/scipy containers. Anything else --
a class from a study module, a lambda, a type from another package -- refuses
the bundle with its name, before anything is built.
"""
from __future__ import annotations

import importlib
import inspect

from ..errors import BundleError

__all__ = ["TRUSTED_PACKAGES", "TRUSTED_TYPES", "is_trusted", "check_trusted"]

#: Packages whose classes a bundle may hold (their test helpers excepted).
TRUSTED_PACKAGES = ("neurodx", "sklearn", "pyriemann")
#: numpy / scipy types trusted by name (skops trusts plain arrays and dtypes itself).
TRUSTED_TYPES = frozenset({
    "numpy.ndarray", "numpy.dtype", "numpy.ma.core.MaskedArray",
    "numpy.float16", "numpy.float32", "numpy.float64", "numpy.int8", "numpy.int16",
    "numpy.int32", "numpy.int64", "numpy.uint8", "numpy.uint16", "numpy.uint32",
    "numpy.uint64", "numpy.bool_", "numpy.str_",
    "numpy.random._generator.Generator", "numpy.random._pcg64.PCG64",
    "numpy.random._mt19937.MT19937", "numpy.random.mtrand.RandomState",
    "numpy.random.bit_generator.SeedSequence",
    "scipy.sparse._csr.csr_matrix", "scipy.sparse._csc.csc_matrix",
    "scipy.sparse._csr.csr_array", "scipy.sparse._csc.csc_array",
})


def _resolve(name: str):
    """The object a dotted type name points to, or None if it cannot be imported."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def is_trusted(name: str) -> bool:
    """True for a type name a bundle may contain (see the module docstring)."""
    if name in TRUSTED_TYPES:
        return True
    package = name.split(".", 1)[0]
    if package not in TRUSTED_PACKAGES or "._testing" in name or ".tests." in name:
        return False
    # A class, not a function: skops may call what it loads with stored arguments.
    return inspect.isclass(_resolve(name))


def check_trusted(types, source) -> list[str]:
    """Return ``types`` if all are trusted, else raise :class:`BundleError` naming the others."""
    untrusted = sorted(t for t in set(types) if not is_trusted(t))
    if untrusted:
        raise BundleError(f"{source}: refusing to load: {len(untrusted)} type(s) outside the "
                          f"trusted list ({', '.join(untrusted[:8])}"
                          + (" ..." if len(untrusted) > 8 else "") + "). Bundles hold only "
                          f"classes from {', '.join(TRUSTED_PACKAGES)} and basic numpy/scipy "
                          "types; retrain the route with neurodx steps.")
    return sorted(set(types))
