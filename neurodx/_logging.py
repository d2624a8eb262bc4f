"""The package logger. Messages carry subject IDs and file names only."""
import logging

logger = logging.getLogger("neurodx")
logger.addHandler(logging.NullHandler())


def set_log_level(level: str | int = "INFO") -> None:
    """Send neurodx messages to stderr at ``level`` (also quiets MNE below WARNING)."""
    import mne

    # Replace our handler rather than keep it: it must write to the *current* stderr
    # (a test harness or a caller may have swapped sys.stderr since the last call).
    for h in [h for h in logger.handlers if getattr(h, "_neurodx", False)]:
        logger.removeHandler(h)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler._neurodx = True
    logger.addHandler(handler)
    logger.setLevel(level)
    mne.set_log_level("WARNING")
