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

from ..errors import RecordingError

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
    if context.modality == "eeg":
        eeg = config["eeg"]
        out.update(channel_names=list(context.channel_names or []),
                   n_channels=len(context.channel_names or []), sfreq=context.sfreq,
                   sfreq_policy=eeg["sfreq_policy"], min_duration=eeg["min_duration"],
                   exclude=list(eeg["exclude"]), flat_dropped=list(context.flat_dropped))
    elif context.modality == "regions":
        out.update(n_regions=context.n_regions,
                   min_timepoints=config["regions"]["min_timepoints"],
                   flat_dropped=list(context.flat_dropped),
                   region_columns=(None if context.region_columns is None
                                   else list(context.region_columns)))
    else:
        vol = config["volume"]
        final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
        slice_input = getattr(final, "input_shape_", None)
        out.update(volume_shape=list(volume_shape) if volume_shape is not None else None,
                   shape_policy=vol["shape_policy"], require_4d=vol["require_4d"],
                   min_frames=vol["min_frames"], series=vol["series"],
                   intensity=vol.get("intensity", "auto"),
                   unit=getattr(final, "input_unit_", None),
                   slice_input=list(slice_input) if slice_input is not None else None)
    return out


def _errors(path: Path, problems) -> None:
    errors = [p.message for p in problems if p.excludes_subject]
    if errors:
        raise RecordingError(path, "; ".join(errors))


def _check_eeg(path: Path, inp: dict, spec) -> None:
    from ..io import check_eeg_file

    info, problems = check_eeg_file(path, spec)
    _errors(path, problems)
    names = list(info["channel_names"])
    missing = [c for c in inp["channel_names"] if c not in names]
    if missing:
        raise RecordingError(path, f"{len(names)} EEG channels, missing {len(missing)} of the "
                                   f"model's {len(inp['channel_names'])}: "
                                   f"{', '.join(missing[:8])}" + (" ..." if len(missing) > 8
                                                                 else ""))
    # Under flat_policy 'drop' a flat channel is only a warning: fine when training
    # dropped it too (it is not among the model's channels), an error otherwise.
    used_flat = [c for c in info["flat"] if c in inp["channel_names"]]
    if used_flat:
        raise RecordingError(path, f"flat channel(s) the model uses: {', '.join(used_flat[:8])}"
                                   + (" ..." if len(used_flat) > 8 else ""))
    # Under bad_channels 'exclude' training left out the channels marked bad in its
    # cohort; one marked bad here that the model uses cannot be left out (the model
    # needs it) nor trusted. ('interpolate' rebuilds it when loading; 'ignore' uses it.)
    used_bad = [c for c in info["bads"] if c in inp["channel_names"]]
    if used_bad and spec.bad_channels == "exclude":
        raise RecordingError(path, f"channel(s) marked bad in the recording that the model "
                                   f"uses: {', '.join(used_bad[:8])}"
                                   + (" ..." if len(used_bad) > 8 else ""))
    if info["sfreq"] != inp["sfreq"] and inp["sfreq_policy"] == "refuse":
        raise RecordingError(path, f"sampling rate {info['sfreq']:g} Hz, the model was trained "
                                   f"at {inp['sfreq']:g} Hz (sfreq_policy 'refuse')")


def _check_regions(path: Path, inp: dict, spec) -> None:
    from ..io import check_region_file

    info, problems = check_region_file(path, spec)
    _errors(path, problems)
    if info["n_channels"] != inp["n_regions"]:
        raise RecordingError(path, f"{info['n_channels']} regions, the model expects "
                                   f"{inp['n_regions']}")
    # Regions are matched by column position; those dropped at training are not used.
    columns = inp.get("region_columns")
    used = set(range(inp["n_regions"]) if columns is None else columns)
    names = list(info["channel_names"])
    used_flat = [n for n in info["flat"] if names.index(n) in used]
    if used_flat:
        raise RecordingError(path, f"flat region(s) the model uses: {', '.join(used_flat[:8])}"
                                   + (" ..." if len(used_flat) > 8 else ""))


def _check_volume(path: Path, inp: dict) -> None:
    from ..io import VolumeSpec, check_volume_file

    shape = tuple(inp["volume_shape"]) if inp.get("volume_shape") else None
    spec = VolumeSpec(require_4d=inp["require_4d"], min_frames=inp["min_frames"],
                      expected_shape=shape, shape_policy=inp["shape_policy"],
                      series=inp["series"], intensity=inp.get("intensity", "auto"))
    info, problems = check_volume_file(path, spec)
    _errors(path, problems)
    _check_unit(path, info, inp)


def _check_unit(path: Path, info: dict, inp: dict) -> None:
    """Refuse a scan whose own unit (DICOM CT: HU; PNG/JPEG: display) is not the model's.

    A scan of unknown unit (NIfTI) is resolved by the model itself, with the rule
    it was trained under (:func:`neurodx.io.units.resolve_unit`), and refused there.
    """
    from ..errors import ConfigError
    from ..io.units import UNKNOWN, describe_unit, resolve_unit

    trained = inp.get("unit")
    if trained is None:
        return      # a bundle from before units were recorded
    try:
        unit = resolve_unit(info.get("units") or UNKNOWN, inp.get("intensity", "auto"))
    except ConfigError as err:
        raise RecordingError(path, str(err)) from None
    if UNKNOWN not in (unit, trained) and unit != trained:
        raise RecordingError(path, f"{describe_unit(unit)}, but the model was trained on "
                                   f"{describe_unit(trained)}")


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
    from ..errors import CohortError
    from ..evaluation.compare import load_subject, study_spec
    from ..io import file_format
    from ..io.formats import MODALITY_OF_FORMAT

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
    spec = study_spec(context.config, modality)
    if modality == "eeg":
        _check_eeg(path, inp, spec)
    elif modality == "regions":
        _check_regions(path, inp, spec)
    else:
        _check_volume(path, inp)
    return load_subject([path], context, spec)
