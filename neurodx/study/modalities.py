"""One object per kind of recording a study can hold: EEG, region time series, volumes.

Everything that depends on the modality is a method or attribute of its
:class:`Modality`, found by name in one registry (:func:`get_modality`): the
expectations read from the config, how a subject is loaded for the routes, the
route kinds it takes and their windows' unit, what a bundle records of its input
and how scoring checks a new recording against it. The rest of neurodx asks the
registry instead of comparing modality names.

The per-file readers and checks live in :mod:`neurodx.io` (which has its own
tables by modality: ``io`` comes before ``study`` and does not import it).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import mne
import nibabel as nib
import numpy as np
from sklearn.pipeline import Pipeline

from ..errors import ConfigError, RecordingError
from ..io import (EEGSpec, RegionSpec, VolumeSpec, check_eeg_file, check_region_file,
                  check_volume_file, load_eeg, read_region_timeseries)
from ..io.slice_labels import SLICE_LABELS_FILE
from ..io.units import UNKNOWN, check_intensity_setting, describe_unit, resolve_unit
from ..preprocessing import preprocess_raw
from ..preprocessing.regions_from_volume import RegionsFromVolume
from ..rmt import RMT_ROUTE_KINDS

__all__ = ["Modality", "MODALITIES", "get_modality", "BROADBAND"]

#: One unfiltered band: region series are band-limited upstream (fMRI preprocessing).
BROADBAND = {"broadband": None}


def _errors(path: Path, problems) -> None:
    errors = [p.message for p in problems if p.excludes_subject]
    if errors:
        raise RecordingError(path, "; ".join(errors))


def _listed(names, limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (" ..." if len(names) > limit else "")


class Modality:
    """What a study needs to know about one kind of recording.

    Attributes
    ----------
    name : str
        ``cohort.modality`` in the config (``eeg``, ``regions``, ``volume``).
    section : str
        The config section holding the cohort's expectations.
    unit : str or None
        What a column of a recording is (``channel``, ``region``), for messages.
    window_unit : str
        The unit of ``windows.length`` for this modality's routes.
    rmt_sfreq : float or None
        The rate the RMT routes count windows at (None: the recordings' own rate).
    route_kinds : tuple of str
        The route kinds a study of this modality takes.
    series_folders : bool
        Whether a folder of slices (DICOM series, PNG/JPEG) is one recording.
    """

    name = ""
    series_folders = False
    section = ""
    unit = None
    window_unit = ""
    rmt_sfreq = None
    route_kinds = tuple(RMT_ROUTE_KINDS)

    def spec(self, config):
        """The expectations (EEGSpec, RegionSpec or VolumeSpec) of ``config``."""
        raise NotImplementedError

    def check_settings(self, check, spec) -> None:
        """Refuse config settings the checked cohort contradicts (nothing by default)."""

    def load(self, paths, context, spec):
        """One subject's recording(s), ready for the routes (``spec``: :meth:`spec`)."""
        raise NotImplementedError

    def route_input(self, participant_id: str, data):
        """What a route receives for one subject (the loaded data by default)."""
        return data

    def rmt_bands(self, config) -> dict:
        """``{band: (low, high) or None}`` of the RMT routes."""
        return dict(BROADBAND)

    def adapt_rmt_route(self, route, context):
        """An RMT route as this modality runs it (unchanged by default)."""
        return route

    def check_features_config(self, config) -> None:
        """Refuse configs ``neurodx features`` cannot work with (nothing by default)."""

    def feature_input(self, data, config):
        """A loaded subject as the feature table's RMT steps take it."""
        return data

    def preprocessing(self, config) -> dict | None:
        """The ``preprocessing`` settings a bundle records (None: not used)."""
        return None

    def resample_rate(self, config) -> float | None:
        """The rate recordings are resampled to when loaded (None: kept as recorded)."""
        return None

    def slice_settings(self, config, cohort_root=None) -> dict:
        """Settings a slice CNN takes from the config and cohort (nothing by default)."""
        return {}

    def expected_input(self, context, config, *, volume_shape=None, estimator=None) -> dict:
        """A bundle manifest's ``input`` fields beyond ``modality``."""
        raise NotImplementedError

    def check_input(self, path: Path, inp: dict, spec) -> None:
        """Refuse a recording that does not match a bundle's ``input`` section."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<Modality {self.name}>"


class EEG(Modality):
    """Scalp EEG: MNE ``Raw`` recordings, windows in seconds, frequency bands."""

    name = section = "eeg"
    unit = "channel"
    window_unit = "seconds"
    route_kinds = (*RMT_ROUTE_KINDS, "cnn", "braindecode")

    def spec(self, config):
        return EEGSpec(**config["eeg"])

    def load(self, paths, context, spec):
        """A preprocessed :class:`mne.io.Raw` (runs concatenated)."""
        pre = context.config["preprocessing"]
        raws = [load_eeg(p, spec, context.channel_names, context.sfreq) for p in paths]
        raw = raws[0] if len(raws) == 1 else mne.concatenate_raws(raws, verbose="ERROR")
        # the recording was read for this call only: preprocess it in place (no copy)
        return preprocess_raw(raw, reference=pre["reference"], l_freq=pre["l_freq"],
                              h_freq=pre["h_freq"], notch=pre["notch"], sfreq=pre["sfreq"],
                              copy=False)

    def rmt_bands(self, config) -> dict:
        return {name: (tuple(edges) if edges else None)
                for name, edges in config["windows"]["bands"].items()}

    def preprocessing(self, config) -> dict | None:
        return config["preprocessing"]

    def resample_rate(self, config) -> float | None:
        return config["preprocessing"]["sfreq"]

    def expected_input(self, context, config, *, volume_shape=None, estimator=None) -> dict:
        eeg = config["eeg"]
        return dict(channel_names=list(context.channel_names or []),
                    n_channels=len(context.channel_names or []), sfreq=context.sfreq,
                    sfreq_policy=eeg["sfreq_policy"], min_duration=eeg["min_duration"],
                    exclude=list(eeg["exclude"]), flat_dropped=list(context.flat_dropped))

    def check_input(self, path: Path, inp: dict, spec) -> None:
        info, problems = check_eeg_file(path, spec)
        _errors(path, problems)
        names = list(info["channel_names"])
        missing = [c for c in inp["channel_names"] if c not in names]
        if missing:
            raise RecordingError(path, f"{len(names)} EEG channels, missing {len(missing)} of "
                                       f"the model's {len(inp['channel_names'])}: "
                                       f"{_listed(missing)}")
        # Under flat_policy 'drop' a flat channel is only a warning: fine when training
        # dropped it too (it is not among the model's channels), an error otherwise.
        used_flat = [c for c in info["flat"] if c in inp["channel_names"]]
        if used_flat:
            raise RecordingError(path, f"flat channel(s) the model uses: {_listed(used_flat)}")
        # Under bad_channels 'exclude' training left out the channels marked bad in its
        # cohort; one marked bad here that the model uses cannot be left out (the model
        # needs it) nor trusted. ('interpolate' rebuilds it when loading; 'ignore' uses it.)
        used_bad = [c for c in info["bads"] if c in inp["channel_names"]]
        if used_bad and spec.bad_channels == "exclude":
            raise RecordingError(path, f"channel(s) marked bad in the recording that the model "
                                       f"uses: {_listed(used_bad)}")
        if info["sfreq"] != inp["sfreq"] and inp["sfreq_policy"] == "refuse":
            raise RecordingError(path, f"sampling rate {info['sfreq']:g} Hz, the model was "
                                       f"trained at {inp['sfreq']:g} Hz (sfreq_policy 'refuse')")


class Regions(Modality):
    """Region time series (regions x time points): windows in time points (sfreq 1)."""

    name = section = "regions"
    unit = "region"
    window_unit = "time points"
    # Time points are the samples: TR is rarely stored with a region series.
    rmt_sfreq = 1.0

    def spec(self, config):
        return RegionSpec(**config["regions"])

    def load(self, paths, context, spec):
        """An array ``(n_regions, n_times)``, runs concatenated in time."""
        # Columns dropped for being flat (flat_policy: drop) go from every file.
        keep = slice(None) if context.region_columns is None else list(context.region_columns)
        return np.concatenate([read_region_timeseries(p).data[keep] for p in paths], axis=1)

    def expected_input(self, context, config, *, volume_shape=None, estimator=None) -> dict:
        return dict(n_regions=context.n_regions,
                    min_timepoints=config["regions"]["min_timepoints"],
                    flat_dropped=list(context.flat_dropped),
                    region_columns=(None if context.region_columns is None
                                    else list(context.region_columns)))

    def check_input(self, path: Path, inp: dict, spec) -> None:
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
            raise RecordingError(path, f"flat region(s) the model uses: {_listed(used_flat)}")


def _repetition_time(cohort_path):
    """TR (s) of the cohort's first 4-D run, to state window lengths in seconds; or None."""
    for path in sorted(Path(cohort_path).rglob("*.nii*")) if cohort_path else ():
        try:
            img = nib.load(path)
        except Exception:   # not a readable NIfTI: the cohort check reports it
            continue
        if img.ndim == 4 and img.header.get_zooms()[3] > 0:
            return float(img.header.get_zooms()[3])
    return None


class Volume(Modality):
    """Volumes (4-D fMRI runs, CT scans): streamed by slice CNNs, or reduced to region
    series for the RMT routes (windows in time points, one per TR)."""

    name = section = "volume"
    window_unit = "time points (one per TR) of the region series"
    rmt_sfreq = 1.0
    route_kinds = ("cnn", *RMT_ROUTE_KINDS)
    series_folders = True

    def spec(self, config):
        # the region-extraction keys (atlas, parcellation...) belong to the routes
        vol = {k: v for k, v in config["volume"].items() if k in VolumeSpec.__dataclass_fields__}
        if vol["expected_shape"] is not None:
            vol["expected_shape"] = tuple(vol["expected_shape"])
        return VolumeSpec(**vol)

    def check_settings(self, check, spec) -> None:
        # A config forcing HU on PNG/JPEG (or display on DICOM CT) is the config's error.
        check_intensity_setting(check.recordings, spec.intensity)

    def load(self, paths, context, spec):
        """The path of the subject's one volume (file or series folder), read lazily."""
        if len(paths) != 1:
            raise RecordingError(context.cohort_root or "cohort",
                                 f"a volume study needs exactly one volume (file or series "
                                 f"folder) per subject, got {len(paths)}")
        return str(paths[0])

    def route_input(self, participant_id: str, data):
        # The CNN estimators take (subject_id, data) pairs: IDs name subjects in their
        # errors and inner splits (file names may repeat: every DICOM folder "dicom").
        return (participant_id, data)

    def adapt_rmt_route(self, route, context):
        """Region series first (:class:`~neurodx.preprocessing.RegionsFromVolume`)."""
        cfg = context.config
        volume = cfg["volume"]
        step = RegionsFromVolume(atlas=volume["atlas"], method=volume["parcellation"],
                                 n_parcels=volume["n_parcels"], low_pass=volume["low_pass"],
                                 high_pass=volume["high_pass"])
        estimator = Pipeline([("regions", step), *route.estimator.steps])
        # A given atlas learns nothing: regions and the route's own stateless steps run
        # once per subject. A parcellation is learnt from subjects: the whole route is
        # fitted in each fold, so no test subject's voxels shape the regions.
        n_stateless = route.stateless_steps + 1 if volume["atlas"] else 0
        length = context.window_length
        tr = _repetition_time(context.cohort_root)
        unit = (f"windows of {length:g} time points = {length * tr:g} s at TR {tr:g} s"
                if tr else f"windows of {length:g} time points (one TR each)")
        source = "atlas" if volume["atlas"] else \
            f"{volume['parcellation']} parcellation ({volume['n_parcels']} parcels, fitted per fold)"
        return replace(route, estimator=estimator, stateless_steps=n_stateless,
                       description=f"{route.description} [region series: {source}; {unit}]")

    def slice_settings(self, config, cohort_root=None) -> dict:
        # Slice routes read the volumes' unit as the config's volume section says, and
        # train on the cohort's slice labels when it has them (volume.slice_labels).
        settings = {"intensity": config["volume"].get("intensity", "auto")}
        labels = Path(cohort_root) / SLICE_LABELS_FILE if cohort_root is not None else None
        if config["volume"].get("slice_labels", "auto") == "auto" and labels is not None \
                and labels.is_file():
            settings["slice_labels"] = str(labels)
        return settings

    def check_features_config(self, config) -> None:
        if not config["volume"].get("atlas"):
            # A parcellation would be learnt from the subjects; per-subject features take
            # the regions of a given label image, read from every run alike.
            raise ConfigError("RMT features of 4-D fMRI runs need region time series: set "
                              "volume.atlas to a NIfTI label image (e.g. --set volume.atlas="
                              "sample_data/fmri/atlas.nii.gz)")

    def feature_input(self, data, config):
        """A 4-D run's region series from ``volume.atlas`` (as the RMT routes)."""
        volume = config["volume"]
        step = RegionsFromVolume(atlas=volume["atlas"], low_pass=volume["low_pass"],
                                 high_pass=volume["high_pass"])
        return step.fit_transform([data])[0]

    def expected_input(self, context, config, *, volume_shape=None, estimator=None) -> dict:
        vol = config["volume"]
        final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
        slice_input = getattr(final, "input_shape_", None)
        return dict(volume_shape=list(volume_shape) if volume_shape is not None else None,
                    shape_policy=vol["shape_policy"], require_4d=vol["require_4d"],
                    min_frames=vol["min_frames"], series=vol["series"],
                    intensity=vol.get("intensity", "auto"),
                    unit=getattr(final, "input_unit_", None),
                    slice_input=list(slice_input) if slice_input is not None else None)

    def check_input(self, path: Path, inp: dict, spec) -> None:
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


#: The registry: ``cohort.modality`` -> its :class:`Modality`.
MODALITIES = {m.name: m for m in (EEG(), Regions(), Volume())}


def get_modality(name: str) -> Modality:
    """The :class:`Modality` called ``name`` (``cohort.modality``)."""
    try:
        return MODALITIES[name]
    except KeyError:
        raise ConfigError(f"cohort.modality: expected one of {', '.join(MODALITIES)}, "
                          f"got {name!r}") from None
