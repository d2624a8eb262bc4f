"""Which object types a bundle's skops file may contain.

:func:`skops.io.load` rebuilds each object from a type name written in the file
(``module.Class``): it imports ``module``, takes its attribute ``Class`` and
either calls it with arguments from the file or sets the file's attributes on a
new instance. Whoever writes the file chooses the name, so a class is trusted
for **what it is**, never for the package path it is reached through. A name
skops does not trust by itself is trusted here only when all of these hold:

* it resolves, exactly as skops resolves it, to a **class** (never a function
  or a method: those run when called);
* the name **is** the class's own ``__module__.__qualname__``: a re-export
  such as ``sklearn.datasets._covtype.GzipFile`` (really ``gzip.GzipFile``) or
  ``sklearn.externals.array_api_compat.torch.Tensor`` (``torch.Tensor``) is
  refused, as is ``sklearn.linear_model.LogisticRegression`` (written by skops
  as ``sklearn.linear_model._logistic.LogisticRegression``);
* it is one of :data:`TRUSTED_TYPES` (numpy / scipy array containers), or a
  scikit-learn estimator (a ``BaseEstimator`` subclass) defined in
  ``neurodx``, ``sklearn`` or ``pyriemann`` outside their test helpers and
  outside ``neurodx.models`` (CNN estimators are stored as safetensors, never
  in a skops file).

Nothing outside those packages and that list is imported to decide. skops trusts
some types without asking: Python primitives and containers, numpy dtypes, numpy
bit generators, scikit-learn's public estimators and loss objects (all under
their defining module's name, so no re-export slips in that way), and numpy and
scipy ufuncs. Functions are never trusted here, ufuncs included: a skops file
holding any function, bound method, ``functools.partial`` or ``operator``
callable is refused (:func:`check_skops`), since no neurodx route stores one.
skops itself refuses the tree types whose content it cannot check
(``sklearn.tree._tree.Tree``, ``TreePredictor``), and so does this list.

A few estimator *settings* act on the file system when the estimator is fitted
(``memory`` of a Pipeline or a clustering step caches to a folder, through
pickle); a loaded bundle with such a setting is refused too
(:func:`check_loaded`), since scoring fits a route's stateless steps.
"""
from __future__ import annotations

import importlib
import inspect
import io
import json
import zipfile

from sklearn.base import BaseEstimator

from ..errors import BundleError

__all__ = ["TRUSTED_PACKAGES", "TRUSTED_TYPES", "canonical_name", "untrusted_reason",
           "is_trusted", "check_trusted", "check_skops", "check_loaded"]

#: Packages whose scikit-learn estimators a bundle may hold.
TRUSTED_PACKAGES = ("neurodx", "sklearn", "pyriemann")
#: Other classes a bundle may hold, by canonical name (tested to be canonical).
TRUSTED_TYPES = frozenset({
    "numpy.ndarray", "numpy.dtype", "numpy.ma.MaskedArray",
    "numpy.float16", "numpy.float32", "numpy.float64", "numpy.int8", "numpy.int16",
    "numpy.int32", "numpy.int64", "numpy.uint8", "numpy.uint16", "numpy.uint32",
    "numpy.uint64", "numpy.bool", "numpy.str_",
    "numpy.random._generator.Generator", "numpy.random._pcg64.PCG64",
    "numpy.random._mt19937.MT19937", "numpy.random.mtrand.RandomState",
    "numpy.random.bit_generator.SeedSequence",
    "scipy.sparse._csr.csr_matrix", "scipy.sparse._csc.csc_matrix",
    "scipy.sparse._csr.csr_array", "scipy.sparse._csc.csc_array",
})
# Module path parts that mark test helpers (mock estimators take callables).
_TEST_PARTS = ("test", "mock")
# CNN estimators hold torch networks: bundles store them as safetensors only.
_NEVER_IN_SKOPS = ("neurodx.models.",)
# skops loaders that rebuild a callable (skops trusts numpy/scipy ufuncs by default).
_CALLABLE_LOADERS = frozenset({"FunctionNode", "MethodNode", "PartialNode",
                               "OperatorFuncNode"})
# Estimator parameters that make fit cache to (and unpickle from) a folder.
_FILE_PARAMS = ("memory",)


def canonical_name(obj) -> str:
    """``module.qualname`` of a class: the name it is defined under."""
    return f"{obj.__module__}.{obj.__qualname__}"


def _resolve(name: str):
    """The object skops would build for ``name`` (module = all before the last dot), or None."""
    module, _, attr = name.rpartition(".")
    if not module:
        return None
    try:
        return getattr(importlib.import_module(module), attr)
    except Exception:  # noqa: BLE001 - any failure to import means: not trusted
        return None


def untrusted_reason(name: str) -> str | None:
    """Why a type name is refused, or None when a bundle may contain it.

    Only names in :data:`TRUSTED_TYPES` or under :data:`TRUSTED_PACKAGES` are
    imported to decide (see the module docstring for the rules).
    """
    listed = name in TRUSTED_TYPES
    if not listed:
        if name.split(".", 1)[0] not in TRUSTED_PACKAGES:
            return "outside neurodx, scikit-learn and pyRiemann"
        modules = name.lower().split(".")[:-1]
        if any(t in part for part in modules for t in _TEST_PARTS):
            return "a test helper"
        if any(part.startswith("__") for part in modules):   # __main__ would run a program
            return "a special module"
        if name.startswith(_NEVER_IN_SKOPS):
            return "a CNN part (bundles store CNNs as safetensors)"
    obj = _resolve(name)
    if obj is None:
        return "cannot be imported"
    if not inspect.isclass(obj):
        return "not a class"
    canonical = canonical_name(obj)
    if canonical != name:
        return f"a re-export of {canonical}"
    if not listed and not issubclass(obj, BaseEstimator):
        return "not a scikit-learn estimator"
    return None


def is_trusted(name: str) -> bool:
    """True for a type name a bundle may contain (see the module docstring)."""
    return untrusted_reason(name) is None


def _refuse(refused: list[tuple[str, str]], source) -> None:
    """Raise :class:`BundleError` naming each refused type and why, if there is any."""
    if refused:
        listed = "; ".join(f"{n} ({r})" for n, r in refused[:8])
        raise BundleError(f"{source}: refusing to load: {len(refused)} type(s) outside the "
                          f"trusted list: {listed}" + (" ..." if len(refused) > 8 else "")
                          + ". Bundles hold only scikit-learn estimators defined in "
                          f"{', '.join(TRUSTED_PACKAGES)} and numpy/scipy arrays; retrain "
                          "the route with neurodx steps.")


def check_trusted(types, source) -> list[str]:
    """Return ``types`` (sorted, unique) if all are trusted, else raise :class:`BundleError`.

    The message names each refused type and why (``gzip.GzipFile`` behind a
    scikit-learn path is named as such).
    """
    names = sorted(set(types))
    _refuse([(n, r) for n in names if (r := untrusted_reason(n)) is not None], source)
    return names


def _callables(schema) -> set[str]:
    """Names of every node of a skops schema that rebuilds a callable."""
    found, stack = set(), [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("__loader__") in _CALLABLE_LOADERS:
                found.add(f"{node.get('__module__')}.{node.get('__class__')}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def check_skops(data: bytes, source) -> list[str]:
    """Audit a skops file's bytes without building anything; return the types to trust.

    Every type skops does not trust by itself must pass :func:`untrusted_reason`,
    and no node may rebuild a function (ufuncs included).

    Returns
    -------
    list of str
        The ``trusted`` argument for :func:`skops.io.loads`.

    Raises
    ------
    BundleError
        An unreadable file, a refused type or a function.
    """
    import skops.io as sio

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
        # Builds skops' node tree (names only: nothing is imported or constructed).
        types = sio.get_untrusted_types(data=data)
    except Exception as err:  # noqa: BLE001 - a crafted file may break the parser anywhere
        raise BundleError(f"{source}: not a readable skops file ({type(err).__name__}); "
                          "the bundle is damaged") from None
    names = sorted(set(types))
    refused = {n: r for n in names if (r := untrusted_reason(n)) is not None}
    refused.update({n: "a function: never trusted" for n in _callables(schema)})
    _refuse(sorted(refused.items()), source)
    return names


def check_loaded(estimator, source) -> None:
    """Refuse a loaded estimator with a setting that reads or writes files when fitted.

    ``memory`` (Pipeline, agglomerative clustering, OPTICS) caches fitted steps in a
    folder with joblib, which pickles, and unpickles what it finds there.
    """
    try:
        params = estimator.get_params(deep=True) if hasattr(estimator, "get_params") else {}
    except Exception as err:  # noqa: BLE001 - a crafted state may break get_params
        raise BundleError(f"{source}: the stored estimator is malformed "
                          f"({type(err).__name__}); refusing to use it") from None
    bad = sorted(k for k, v in params.items()
                 if k.rsplit("__", 1)[-1] in _FILE_PARAMS and v is not None)
    if bad:
        raise BundleError(f"{source}: refusing to load: {', '.join(bad)} is set (a fitted "
                          "step would cache to a folder through pickle); bundles are written "
                          "with no memory")
