"""One scorer per output: ``<out>.lock`` holds the PID (and host) of the scorer writing it.

Two scorers on one ``--out`` would both score every input and race on the journal;
the second one is refused instead. The lock is created with ``O_CREAT | O_EXCL``
(atomic on local file systems), removed when the scorer ends, and taken over when
its PID no longer runs on this host (a killed scorer leaves it behind).
"""
from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from pathlib import Path

from .._logging import logger
from ..errors import ConfigError

__all__ = ["lock_path", "output_lock"]


def lock_path(out: str | Path) -> Path:
    """The lock of an output file: ``scores.csv`` -> ``scores.csv.lock``."""
    out = Path(out)
    return out.with_name(out.name + ".lock")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:       # another user's process: it exists
        return True
    return True


def _holder(path: Path) -> tuple[int | None, str | None]:
    try:
        pid, _, host = path.read_text(encoding="ascii").strip().partition("@")
        return int(pid), host or None
    except (OSError, ValueError, UnicodeDecodeError):
        return None, None


@contextmanager
def output_lock(out: str | Path):
    """Hold ``<out>.lock`` while the block runs.

    Raises
    ------
    ConfigError
        Another live scorer holds the lock.
    """
    path = lock_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    me = f"{os.getpid()}@{socket.gethostname()}\n"
    for _ in range(2):            # the second try follows the removal of a stale lock
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid, host = _holder(path)
            if pid is not None and (host not in (None, socket.gethostname()) or _alive(pid)):
                where = f" on {host}" if host and host != socket.gethostname() else ""
                raise ConfigError(f"{path}: another neurodx score (PID {pid}{where}) is writing "
                                  f"{Path(out).name}; wait for it, use another --out, or delete "
                                  "the lock file if no scorer runs") from None
            logger.warning("%s: taking over a stale lock (PID %s no longer runs)", path.name,
                           pid)
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(me)
        break
    else:  # pragma: no cover - another scorer re-created the lock in between
        raise ConfigError(f"{path}: another neurodx score took this output; use another --out")
    try:
        yield path
    finally:
        if _holder(path) == _holder_of(me):   # never remove a lock taken over by another
            path.unlink(missing_ok=True)


def _holder_of(text: str) -> tuple[int, str]:
    pid, _, host = text.strip().partition("@")
    return int(pid), host
