"""Tangent-space reference means already fitted on the very same matrices, reused.

The Riemannian mean of the training subjects' matrices (the reference point of
:class:`~neurodx.rmt.BandTangentSpace`) is most of a tuned region route's time:
about nine batched eigen-decompositions of every training matrix (200 x 200 for
200 regions). The same fit is asked for again on identical input: the label
permutation test refits the outer folds of its first repeat once per permutation,
on the same training subjects, and the mean never sees the labels; a grid search
refits the same steps for each grid point. Such a fit is deterministic, so it is
looked up here by a digest of the matrices' bytes (with their shape, dtype and the
metric) and the stored result is exactly what a new fit would compute: results do
not depend on this memo, only the time does. Nothing is shared between different
training sets (a different subject set is a different key), so no fold sees
another fold's subjects through it.

The memo is per process (joblib workers each keep their own) and small: one
entry holds the fitted per-band means, ``n_bands x N x N`` floats.

:data:`TANGENT_VECTORS` keeps the last few tangent-vector arrays by the digest of the
matrices and of the reference means they were mapped at: a grid search scores each
grid point on the same validation subjects with the same fitted tangent space, and
refits the same steps on the same inner training subjects, so each array is computed
once per inner fold instead of once per grid point. Again the stored array is
exactly what a new computation returns (a deterministic function of those bytes).
Entries are large (``n_subjects x n_bands N (N + 1) / 2`` floats, 19-57 MB for a
region fold of 200 regions), hence a budget of 8 entries and 400 MB: a grid search
fits the same inner training sets grid point after grid point, so one grid point's
worth (each inner fold's training and validation vectors) must fit.

:data:`MATRIX_LOGS` keeps each subject's matrix logarithm (a per-subject, unfitted
transform: it depends on that one matrix only) for the log-Euclidean start of
:func:`~neurodx.rmt.riemann_mean.riemann_mean`: every fold's mean starts from the
mean of its own training subjects' logarithms, each computed once per process.
"""
from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict

import numpy as np

__all__ = ["matrices_key", "derived_key", "REFERENCES", "TANGENT_VECTORS", "MATRIX_LOGS"]


def matrices_key(X: np.ndarray, *extra) -> bytes:
    """Digest of an array's shape, dtype and bytes, and of ``extra`` (parameters)."""
    X = np.ascontiguousarray(X)
    # SHA-256: hashing is a tenth of a tuned region route's time (the whole training
    # stack at each fit and transform), and SHA-256 runs on the CPU's SHA instructions at
    # twice BLAKE2b's speed here (0.18 vs 0.34 ms per 200 x 200 matrix)
    h = hashlib.sha256()
    h.update(repr((X.shape, X.dtype.str, extra)).encode())
    h.update(memoryview(X).cast("B"))
    return h.digest()


def derived_key(base: bytes, *extra) -> bytes:
    """Digest of a :func:`matrices_key` ``base`` and ``extra``: keys of several memos
    from one pass over the matrices' bytes (hashing a training stack is not free:
    ~20 ms per 100 MB)."""
    return hashlib.sha256(base + repr(extra).encode()).digest()


class _FittedMemo:
    """A bounded least-recently-used map from input digests to fitted objects (at most
    ``max_entries`` of them and, when set, ``max_bytes`` of stored arrays)."""

    def __init__(self, max_entries: int = 64, max_bytes: int | None = None):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict = OrderedDict()
        self._bytes = 0
        self.hits = self.misses = 0

    def get(self, key: bytes):
        """A private copy of the stored object (callers may modify theirs), or None."""
        if key not in self._entries:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return copy.deepcopy(self._entries[key])

    def put(self, key: bytes, fitted) -> None:
        if key in self._entries:
            self._bytes -= getattr(self._entries.pop(key), "nbytes", 0)
        self._entries[key] = copy.deepcopy(fitted)
        self._bytes += getattr(fitted, "nbytes", 0)
        while self._entries and (len(self._entries) > self.max_entries or (
                self.max_bytes is not None and len(self._entries) > 1
                and self._bytes > self.max_bytes)):
            self._bytes -= getattr(self._entries.popitem(last=False)[1], "nbytes", 0)

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0
        self.hits = self.misses = 0


#: Fitted per-band tangent spaces by :func:`matrices_key` of the training matrices.
REFERENCES = _FittedMemo()

#: Tangent vectors by :func:`matrices_key` of the matrices and of the reference means.
TANGENT_VECTORS = _FittedMemo(max_entries=8, max_bytes=400 * 2**20)

#: Matrix logarithms of single SPD matrices by :func:`matrices_key` of the matrix (320 kB
#: each for 200 regions: 448 subjects of two routes take ~290 MB).
MATRIX_LOGS = _FittedMemo(max_entries=4096, max_bytes=512 * 2**20)
