"""neurodx: classify patients from brain recordings.

Two routes are compared on identical subject-level folds: a random-matrix-theory
(RMT) feature route on EEG / region time series, and a CNN route on slices and
windows. See the README for the command-line workflow.
"""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("neurodx")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from .errors import CohortError, NeurodxError, RecordingError  # noqa: E402
from ._logging import set_log_level  # noqa: E402

__all__ = ["__version__", "NeurodxError", "CohortError", "RecordingError", "set_log_level"]
