"""Worker processes that end with the process that started them.

joblib (loky) and Dask workers outlive a parent killed with SIGKILL: it cannot shut
its pool down, and each orphan keeps its memory (about 730 MB for a scoring worker
holding a model and torch). Every worker neurodx starts runs :func:`watch_parent`,
a daemon thread that ends the worker within a second of the parent's death.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager

__all__ = ["watch_parent", "workers_end_with_this_process"]

_POLL_S = 1.0
_watched: set[int] = set()      # in a worker: the parents already watched


def _gone(pid: int, ppid_at_start: int) -> bool:
    if ppid_at_start == pid and os.getppid() != pid:    # re-parented: the parent died
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:     # exists, owned by someone else (PID reuse): keep going
        return False
    return False


def watch_parent(pid: int) -> None:
    """End this process (``os._exit``) once process ``pid`` no longer runs.

    Idempotent; does nothing in process ``pid`` itself. ``os._exit`` skips cleanup
    that could block on a parent that is gone.
    """
    if pid == os.getpid() or pid in _watched:
        return
    _watched.add(pid)
    ppid = os.getppid()

    def watch():
        while not _gone(pid, ppid):
            time.sleep(_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="neurodx-parent-watch", daemon=True).start()


@contextmanager
def workers_end_with_this_process():
    """joblib worker processes started inside the block watch this process."""
    from joblib import parallel_config

    with parallel_config(backend="loky", initializer=watch_parent, initargs=(os.getpid(),)):
        yield
