"""What a bundle expects of its input: described at training, checked at scoring.

At training, :func:`expected_input` records the modality and what the cohort
fixed: EEG channel names in order, sampling rate and the resampling policy;
region count; the reference volume shape and shape policy, the intensity unit
the model was trained on (``"HU"``, ``"display"``, ``"unknown"``; see
:mod:`neurodx.io.units`) and its slice input ``(channels, height, width)``; the channels or
regions dropped for being flat (``flat_policy: drop``), which scoring drops too. At scoring,
:func:`load_checked_input` runs the same per-file checks as ``neurodx inspect``
(readability, NaN/Inf, flat or saturated channels, duration...), compares the
file with the manifest, and loads it exactly as training did. Every refusal is a
:class:`~neurodx.errors.RecordingError` with one line saying what was expected
and what was found.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import CohortError, RecordingError
from ..io import file_format
from ..io.formats import MODALITY_OF_FORMAT
from ..study import get_modality, load_subject

__all__ = ["expected_input", "load_checked_input"]


def expected_input(context, config, *, volume_shape=None, estimator=None) -> dict:
    """The manifest's ``input`` section for a study context.

    Parameters
    ----------
    context : StudyContext
        Modality, channel names, sampling rate, region count of the training data.
    config : Config
        The study configuration (sampling-rate and shape policies, minimum duration).
    volume_shape : tuple of 3 int, optional
        Reference spatial shape (RAS order) of a volume cohort.
    estimator : estimator, optional
        The fitted route; a slice CNN gives the unit (``input_unit_``) and slice
        input shape (``input_shape_``) it was fit on.
    """
    out = {"modality": context.modality}
    out.update(get_modality(context.modality).expected_input(
        context, config, volume_shape=volume_shape, estimator=estimator))
    return out


def load_checked_input(path: str | Path, bundle):
    """Check one recording against ``bundle``'s manifest and load it as training did.

    Returns
    -------
    object
        What the route takes: a preprocessed :class:`mne.io.Raw` (EEG), an array
        ``(n_regions, n_times)`` (regions) or the path (volumes).

    Raises
    ------
    RecordingError
        The file cannot be read, fails a check, or does not match the manifest.
    """
    path = Path(path)
    inp = bundle.manifest["input"]
    modality = inp["modality"]
    if not path.exists():
        raise RecordingError(path, "file not found")
    try:
        found = MODALITY_OF_FORMAT[file_format(path)]
    except CohortError as err:
        raise RecordingError(path, str(err).split(": ", 1)[1]) from None
    if found != modality:
        article = "an" if found[0] in "aeiou" else "a"
        raise RecordingError(path, f"{article} {found} file; this model takes {modality} "
                                   f"recordings ({bundle.manifest['route']['name']} of "
                                   f"{bundle.manifest['study'] or 'its study'})")
    context = bundle.context()
    kind = get_modality(modality)
    spec = kind.spec(context.config)
    kind.check_input(path, inp, spec)
    return load_subject([path], context, spec)
