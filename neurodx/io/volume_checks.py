"""Checking volume recordings: one file at a time, then shapes across a cohort.

Every finding is a :class:`~neurodx.errors.Problem` naming the file; nothing is
skipped silently. :func:`check_volume_file` mirrors ``check_eeg_file``: it
returns the file's description (see :func:`~neurodx.io.volumes.describe_volume`)
and its problems, so ``neurodx inspect`` can tabulate volume cohorts too.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, Problem, RecordingError
from .dicom import dicom_problems
from .units import INTENSITY_SETTINGS
from .volumes import describe_volume, volume_format

__all__ = ["VolumeSpec", "check_volume", "check_volume_file", "check_volume_consistency"]

_SHAPE_POLICIES = ("refuse", "resample")


@dataclass(frozen=True)
class VolumeSpec:
    """What a study expects of its volumes.

    Attributes
    ----------
    require_4d : bool
        Time series required (fMRI): a 3-D volume, or 4-D with one frame, is an error.
    min_frames : int
        Fewest frames accepted when ``require_4d``.
    expected_shape : tuple of 3 int, optional
        Spatial shape every volume must have, in canonical (RAS) layout. By
        default the cohort's most common shape is the reference.
    shape_policy : {"refuse", "resample"}
        What a different shape is: an error, or a warning (it will be resampled).
    series : str, optional
        DICOM series choice for folders holding several (UID, number, "largest").
    intensity : {"auto", "hu", "display"}
        Unit of the voxel values (:mod:`neurodx.io.units`): ``auto`` takes each
        file's own (DICOM CT: HU; PNG/JPEG: display grey levels; NIfTI: HU when
        it holds air below -500, where the CT presets need a unit); ``hu`` or
        ``display`` declare it, and a file that contradicts them is refused.
    """

    require_4d: bool = False
    min_frames: int = 2
    expected_shape: tuple[int, int, int] | None = None
    shape_policy: str = "refuse"
    series: str | None = None
    intensity: str = "auto"

    def __post_init__(self):
        if self.intensity not in INTENSITY_SETTINGS:
            raise ConfigError(f"volume.intensity must be one of {', '.join(INTENSITY_SETTINGS)}"
                              f", got {self.intensity!r}")
        if self.shape_policy not in _SHAPE_POLICIES:
            raise ConfigError(f"shape_policy must be one of {', '.join(_SHAPE_POLICIES)}, "
                              f"got {self.shape_policy!r}")
        if self.expected_shape is not None and len(self.expected_shape) != 3:
            raise ConfigError(f"expected_shape must have 3 sizes (x, y, z), got "
                              f"{self.expected_shape!r}")


_EMPTY_INFO = {"format": None, "shape": None, "canonical_shape": None, "n_frames": np.nan,
               "zooms": None, "tr": None, "orientation": None, "dtype": None, "modality": None,
               "units": None, "min": np.nan, "max": np.nan, "n_nonfinite": np.nan}


def _message(err: RecordingError, path: Path) -> str:
    # Keep the inner file's name when the error is about a file inside a folder.
    if err.source and Path(err.source) != path:
        return f"{Path(err.source).name}: {err.message}"
    return err.message


def _shape_text(shape) -> str:
    return "x".join(str(n) for n in shape)


def check_volume_file(path: str | Path, spec: VolumeSpec | None = None,
                      source: str | None = None) -> tuple[dict, list[Problem]]:
    """Read and scan one volume; return its description and its own problems.

    Parameters
    ----------
    path : str | Path
        NIfTI file, DICOM file or series folder, image or image folder.
    spec : VolumeSpec, optional
    source : str, optional
        What problems are attributed to (e.g. ``"sub-01 sub-01/func/x.nii.gz"``);
        the path by default.

    Returns
    -------
    info : dict
        :func:`describe_volume` keys (NaN/None where unreadable).
    problems : list of Problem
    """
    spec = spec or VolumeSpec()
    path = Path(path)
    source = source or str(path)
    info = dict(_EMPTY_INFO)
    problems: list[Problem] = []
    try:
        kind = volume_format(path)
    except RecordingError as err:
        return info, [Problem(source, _message(err, path))]
    if path.is_dir():
        subdirs = sorted(p.name for p in path.iterdir() if p.is_dir())
        if subdirs:
            problems.append(Problem(source, f"sub-folder(s) ignored: {', '.join(subdirs[:5])}",
                                    "warning"))
    if kind == "dicom":
        # Headers first: lists every bad file, not only the first one reading meets.
        errors, warnings_ = dicom_problems(path, spec.series)
        problems += [Problem(source, m, "warning") for m in warnings_]
        if errors:
            return info, problems + [Problem(source, m) for m in errors]
    try:
        info.update(describe_volume(path, series=spec.series))
    except RecordingError as err:
        return info, problems + [Problem(source, _message(err, path))]

    shape, n_frames = info["canonical_shape"], info["n_frames"]
    if spec.require_4d and n_frames < max(spec.min_frames, 2):
        what = "a 3-D volume" if n_frames == 1 else f"{n_frames} frames"
        problems.append(Problem(source, f"{what} (shape {_shape_text(info['shape'])}) where a 4-D "
                                        f"time series of at least {max(spec.min_frames, 2)} "
                                        "frames is required"))
    if info["n_nonfinite"]:
        problems.append(Problem(source, f"{info['n_nonfinite']} NaN/Inf voxel value(s)"))
    if info["min"] == info["max"]:
        problems.append(Problem(source, f"every voxel equals {info['min']:g} (empty image)"))
    if n_frames > 1 and not info["tr"]:
        problems.append(Problem(source, "no repetition time in the header (pixdim[4] is 0)",
                                "warning"))
    if spec.expected_shape is not None and tuple(shape) != tuple(spec.expected_shape):
        problems.append(_shape_problem(source, shape, tuple(spec.expected_shape),
                                       "the expected", spec.shape_policy))
    return info, problems


def _shape_problem(source, shape, reference, whose, policy) -> Problem:
    if policy == "resample":
        return Problem(source, f"shape {_shape_text(shape)} differs from {whose} "
                               f"{_shape_text(reference)}; it will be resampled", "warning")
    return Problem(source, f"shape {_shape_text(shape)} differs from {whose} "
                           f"{_shape_text(reference)} (set volume.shape_policy: resample in the "
                           "config, or --shape-policy resample)")


def check_volume(path: str | Path, *, require_4d: bool = False,
                 expected_shape: tuple[int, int, int] | None = None,
                 shape_policy: str = "refuse", series: str | None = None,
                 source: str | None = None) -> list[Problem]:
    """Problems of one volume file or folder (see :func:`check_volume_file`)."""
    spec = VolumeSpec(require_4d=require_4d, expected_shape=expected_shape,
                      shape_policy=shape_policy, series=series)
    return check_volume_file(path, spec, source)[1]


def check_volume_consistency(rows: list[dict], spec: VolumeSpec | None = None
                             ) -> tuple[list[Problem], tuple[int, int, int] | None]:
    """Shapes and voxel sizes across a cohort's volumes.

    Parameters
    ----------
    rows : list of dict
        One per file: ``"source"`` plus the info from :func:`check_volume_file`.
    spec : VolumeSpec, optional

    Returns
    -------
    problems : list of Problem
        A shape different from the reference (``spec.expected_shape`` or the
        most common canonical shape): an error, or a warning under
        ``shape_policy="resample"``. Voxel sizes that differ from the most
        common by more than 1 %: a warning.
    reference_shape : tuple or None
    """
    spec = spec or VolumeSpec()
    readable = [r for r in rows if r.get("canonical_shape") is not None]
    problems: list[Problem] = []
    if not readable:
        return problems, spec.expected_shape
    reference = tuple(spec.expected_shape) if spec.expected_shape is not None else \
        Counter(tuple(r["canonical_shape"]) for r in readable).most_common(1)[0][0]
    if spec.expected_shape is None:  # expected shapes were already checked per file
        for r in readable:
            if tuple(r["canonical_shape"]) != reference:
                problems.append(_shape_problem(r["source"], r["canonical_shape"], reference,
                                               "the cohort's most common shape",
                                               spec.shape_policy))
    zooms = Counter(tuple(np.round(r["zooms"], 3)) for r in readable).most_common(1)[0][0]
    for r in readable:
        if not np.allclose(r["zooms"], zooms, rtol=0.01):
            problems.append(Problem(r["source"], "voxel size "
                                    + "x".join(f"{z:g}" for z in r["zooms"])
                                    + " mm differs from the cohort's most common "
                                    + "x".join(f"{z:g}" for z in zooms) + " mm", "warning"))
    return problems, reference
