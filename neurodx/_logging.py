"""The package logger. Messages carry subject IDs and file names only."""
import logging

logger = logging.getLogger("neurodx")
logger.addHandler(logging.NullHandler())


def set_log_level(level: str | int = "INFO") -> None:
    """Send neurodx messages to stderr at ``level`` (also quiets MNE below WARNING)."""
    import mne

    if not any(getattr(h, "_neurodx", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._neurodx = True
        logger.addHandler(handler)
    logger.setLevel(level)
    mne.set_log_level("WARNING")
