"""Running one function over many tasks, in completion order, on one machine or a Dask cluster.

``scheduler=None`` runs in this process (``n_jobs=1``) or in joblib worker
processes; ``"local"`` starts a :class:`distributed.LocalCluster` of ``n_jobs``
single-threaded worker processes; ``"tcp://HOST:PORT"`` uses a running Dask
scheduler. Results are yielded as they finish, so the caller can record each one
at once; their order never matters to the caller's output. Worker processes on
this machine end themselves within about a second when the caller dies (even by
SIGKILL), so a killed run leaves no workers behind.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence

from .._workers import watch_parent
from ..errors import ConfigError

__all__ = ["map_unordered", "check_scheduler"]


def check_scheduler(scheduler: str | None) -> None:
    """Refuse a scheduler that is neither None, ``"local"`` nor a ``tcp://`` address."""
    if scheduler in (None, "local") or str(scheduler).startswith(("tcp://", "tls://")):
        return
    raise ConfigError(f"--scheduler must be 'local' or a Dask scheduler address like "
                      f"tcp://HOST:PORT, got {scheduler!r}")


def _in_worker(fn, parent_pid: int | None, shared, task):
    """Run ``fn(shared, task)`` in a worker, first making it end with ``parent_pid``."""
    if parent_pid is not None:
        watch_parent(parent_pid)
    return fn(shared, task)


def _dask(fn, shared, tasks, n_jobs: int, scheduler: str) -> Iterator:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - optional dependency
        raise ConfigError("--scheduler needs Dask: pip install 'neurodx[dask]'") from None
    cluster = None
    if scheduler == "local":
        # One thread per worker: the parallelism is across inputs, and the same
        # single-threaded numerics as the other executors give the same numbers.
        cluster = LocalCluster(n_workers=max(1, n_jobs), threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as err:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler} ({err})") from None
    try:
        shared_future = client.scatter(shared, broadcast=True)
        # Only workers on this machine can watch this process; remote ones outlive it.
        parent = os.getpid() if scheduler == "local" else None
        futures = [client.submit(_in_worker, fn, parent, shared_future, task, pure=False)
                   for task in tasks]
        for future in as_completed(futures):
            yield future.result()
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def map_unordered(fn: Callable, shared, tasks: Sequence, *, n_jobs: int = 1,
                  scheduler: str | None = None) -> Iterator:
    """Yield ``fn(shared, task)`` for every task, as each finishes.

    Parameters
    ----------
    fn : callable
        A module-level function (it is sent to worker processes).
    shared : object
        The same first argument for every call (e.g. the loaded model); sent once
        per worker with Dask.
    tasks : sequence
    n_jobs : int
        Worker processes (joblib, or Dask ``LocalCluster`` workers).
    scheduler : {None, "local", "tcp://HOST:PORT"}
    """
    check_scheduler(scheduler)
    if not tasks:
        return iter(())
    if scheduler is not None:
        return _dask(fn, shared, tasks, n_jobs, scheduler)
    if n_jobs == 1:
        return (fn(shared, task) for task in tasks)
    from joblib import Parallel, delayed

    parent = os.getpid()
    return Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
        delayed(_in_worker)(fn, parent, shared, task) for task in tasks)
