"""BLAS threading for neurodx's workloads.

neurodx's numerical hot paths are batched decompositions of small matrices (64 x 64
correlation matrices per window, tangent-space means): OpenBLAS threads cannot split
such work, and on a busy or small machine their spin-waiting made ``eigh`` of a
(12, 64, 64) stack 8x slower (200 ms vs 23 ms measured on the 2-core CI machine
under load). Parallelism comes from joblib/Dask over subjects instead, so BLAS runs
single-threaded inside neurodx's entry points.
"""
from __future__ import annotations

from threadpoolctl import threadpool_limits

__all__ = ["single_threaded_blas"]


def single_threaded_blas():
    """Context manager limiting BLAS (OpenBLAS/MKL) to one thread; torch is unaffected."""
    return threadpool_limits(limits=1, user_api="blas")
