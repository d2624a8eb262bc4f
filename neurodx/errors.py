"""Exceptions and the problem record shared by every validation step.

A :class:`NeurodxError` is an expected failure caused by the user's input (a bad
file, an inconsistent cohort). The command line prints its message as one line
and exits non-zero; anything else is a bug and shows a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass
from os import PathLike

__all__ = ["NeurodxError", "CohortError", "RecordingError", "ConfigError", "BundleError",
           "Problem"]


class NeurodxError(Exception):
    """Base class for errors caused by input data or configuration."""


class CohortError(NeurodxError):
    """A cohort folder or its ``participants.tsv`` cannot be used."""


class ConfigError(NeurodxError, ValueError):
    """A configuration file or option is invalid.

    Also a :class:`ValueError`, so code written for scikit-learn (which raises
    ``ValueError`` for bad parameters) catches it as it would catch sklearn's own.
    """


class BundleError(NeurodxError):
    """A trained-model bundle cannot be written or trusted (tampered, unknown types, bad format)."""


class RecordingError(NeurodxError):
    """One recording (file) cannot be read or fails validation.

    Parameters
    ----------
    source : str | path-like
        The file (or subject) the problem belongs to; it starts the message.
    message : str
        What is wrong, in one line.
    """

    def __init__(self, source: str | PathLike, message: str):
        self.source = str(source)
        self.message = message
        super().__init__(f"{self.source}: {message}")


@dataclass(frozen=True)
class Problem:
    """One problem found in a cohort, a subject or a file.

    Attributes
    ----------
    source : str
        Subject ID and/or file name the problem belongs to. Never a patient name.
    message : str
        One line saying what is wrong.
    severity : {"error", "skip", "warning"}
        ``"error"`` stops a study (``neurodx inspect`` exits non-zero);
        ``"skip"`` leaves the subject out by a policy the user chose (e.g.
        ``eeg.flat_policy: skip_subject``) and the study goes on;
        ``"warning"`` is reported and the data are used.
    """

    source: str
    message: str
    severity: str = "error"

    def __post_init__(self):
        if self.severity not in ("error", "skip", "warning"):
            raise ValueError(f"severity must be 'error', 'skip' or 'warning', "
                             f"got {self.severity!r}")

    @property
    def is_error(self) -> bool:
        """Whether the problem stops a study."""
        return self.severity == "error"

    @property
    def excludes_subject(self) -> bool:
        """Whether the subject cannot be used (an error, or left out by a policy)."""
        return self.severity in ("error", "skip")

    def __str__(self) -> str:
        label = "SKIPPED" if self.severity == "skip" else self.severity.upper()
        return f"{label}: {self.source}: {self.message}"
