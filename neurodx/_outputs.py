"""Output paths checked before any work: a bad ``--out`` is found in a second, not after hours."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError

__all__ = ["check_output_file", "check_output_dir"]


def _writable_ancestor(path: Path, option: str) -> None:
    """The nearest existing ancestor of ``path`` must be a folder this user can write to."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{option} {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {path}: cannot write in {parent} (permission denied)")


def check_output_file(path: str | Path, option: str = "--out") -> Path:
    """Refuse an output file that is an existing folder or cannot be created.

    Parameters
    ----------
    path : path-like
        The file a command will write.
    option : str
        The setting that names it, for the message.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{option} {path}: is a folder; give a file name (e.g. "
                          f"{path / 'scores.csv'})")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{option} {path}: cannot be overwritten (permission denied)")
    _writable_ancestor(path, option)
    return path


def check_output_dir(path: str | Path, option: str = "--out") -> Path:
    """Refuse an output folder that is an existing file or cannot be created."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path}: is a file; give a folder")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(f"{option} {path}: cannot write in this folder (permission denied)")
        return path
    _writable_ancestor(path, option)
    return path
