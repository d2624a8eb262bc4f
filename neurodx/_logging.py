"""The package logger, its level (MNE's ``verbose`` convention) and progress bars.

Messages carry subject IDs and file names only. Progress bars are tqdm bars on stderr,
shown only when stderr is a terminal and the level is WARNING or more verbose: a log
file, a pipe, CI or a test capture never receives bar redraws, and ``-q`` (ERROR)
silences them.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import sys

logger = logging.getLogger("neurodx")
logger.addHandler(logging.NullHandler())

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _parse_level(verbose) -> int:
    """``verbose`` as a logging level: bool (True: INFO, False: WARNING), str or int.

    ``None`` means WARNING, the level the command line starts from.
    """
    if verbose is None or verbose is False:
        return logging.WARNING
    if verbose is True:
        return logging.INFO
    if isinstance(verbose, str):
        if verbose.upper() not in _LEVELS:
            raise ValueError(f"verbose must be a bool, an int or one of "
                             f"{', '.join(_LEVELS)} (any case), got {verbose!r}")
        return getattr(logging, verbose.upper())
    if isinstance(verbose, int):
        return verbose
    raise ValueError(f"verbose must be a bool, an int or a level name, got {verbose!r}")


def _ensure_handler() -> None:
    """One stderr handler on the neurodx logger, writing to the *current* stderr.

    Replaced rather than kept: a test harness or a caller may have swapped sys.stderr
    since the last call.
    """
    for h in [h for h in logger.handlers if getattr(h, "_neurodx", False)]:
        logger.removeHandler(h)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler._neurodx = True
    logger.addHandler(handler)


def set_log_level(verbose=None, return_old_level: bool = False):
    """Send neurodx messages to stderr at the level ``verbose`` (MNE's convention).

    Parameters
    ----------
    verbose : bool | str | int | None
        ``True``: INFO, ``False`` or ``None``: WARNING, a level name (``"debug"``,
        ``"info"``, ``"warning"``, ``"error"``, any case) or a :mod:`logging` level.
        At ERROR or above progress bars are off too.
    return_old_level : bool
        Return the level in force before the call.

    Returns
    -------
    old_level : int | None
        The previous level when ``return_old_level`` is true.
    """
    import mne

    old = logger.level
    _ensure_handler()
    logger.setLevel(_parse_level(verbose))
    mne.set_log_level("WARNING")   # MNE's own INFO lines are noise for neurodx users
    return old if return_old_level else None


@contextlib.contextmanager
def use_log_level(verbose):
    """Context manager: neurodx messages at ``verbose`` inside, the old level after.

    ``verbose=None`` changes nothing (the caller's level stays in force).
    """
    if verbose is None:
        yield
        return
    old = set_log_level(verbose, return_old_level=True)
    try:
        yield
    finally:
        logger.setLevel(old)


def verbose(function):
    """Decorator: run ``function`` under its ``verbose`` argument (MNE's ``@verbose``).

    The decorated function declares ``verbose=None`` as a keyword argument; ``None``
    keeps the level set by :func:`set_log_level` (or the command line's ``-v``/``-q``).
    """
    signature = inspect.signature(function)
    if "verbose" not in signature.parameters:
        raise TypeError(f"{function.__qualname__} has no 'verbose' parameter")

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        level = signature.bind_partial(*args, **kwargs).arguments.get("verbose")
        with use_log_level(level):
            return function(*args, **kwargs)

    return wrapper


def progress_enabled() -> bool:
    """Whether a progress bar would be drawn now: stderr is a terminal and not quiet."""
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        tty = bool(isatty()) if isatty is not None else False
    except ValueError:   # a closed stream
        tty = False
    return tty and logger.getEffectiveLevel() <= logging.WARNING


def progress(iterable=None, desc: str | None = None, total: int | None = None, *,
             unit: str = "it", enabled: bool = True, **kwargs):
    """A tqdm bar on stderr, drawn only when :func:`progress_enabled` (and ``enabled``).

    Parameters
    ----------
    iterable : iterable, optional
        Wrapped and returned as a bar; without it, update the bar by hand
        (``bar.update(1)``) and close it.
    desc : str, optional
        Label in front of the bar.
    total : int, optional
        Number of steps (default: ``len(iterable)`` when it has one).
    unit : str
        What one step is (``"subject"``, ``"fit"``, ``"epoch"``).
    enabled : bool
        ``False`` turns the bar off whatever the terminal (a caller's ``progress=False``).
    **kwargs
        Passed to :class:`tqdm.tqdm` (``leave``, ``initial``...).

    Returns
    -------
    bar : tqdm.tqdm
        Iterate over it, or call ``update``/``close`` on it; a disabled bar does nothing.
    """
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr,
                disable=not (enabled and progress_enabled()), dynamic_ncols=True, **kwargs)
